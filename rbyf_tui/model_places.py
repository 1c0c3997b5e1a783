"""Where other tools keep GGUF models and what they call them: the Hugging Face hub cache,
LM Studio, Ollama, and the folders the user lists (models.toml, RBYF_MODELS).

Only file names and small manifests are read here; the GGUF headers are discovery's.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rbyf_tui import locations
from rbyf_tui.errors import UsageError

SPLIT_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
OLLAMA_REGISTRY = "registry.ollama.ai"
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
FOLDERS_FILE = "models.toml"


@dataclass(frozen=True)
class Placed:
    """A GGUF file as one tool keeps it."""

    path: Path  # as found (a snapshot link in the hub cache)
    name: str
    source: str  # hf | lmstudio | ollama | folder
    real: str = ""  # its resolved path, when the walk knew it without asking the disk


def stem(file_name: str) -> str:
    """A model's name from its file's: without .gguf or a split file's -00001-of-00003."""
    cut = SPLIT_RE.search(file_name)
    if cut:
        return file_name[:cut.start()]
    return file_name[:-5] if file_name.lower().endswith(".gguf") else file_name


def gguf_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every *.gguf file under root (links followed, each folder once), sorted per folder,
    with its resolved path (found from its folder's: one lookup per folder, not per file)."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            real_folder = os.path.realpath(folder)
            with os.scandir(folder) as entries:
                found = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        folders = []
        for entry in found:
            try:
                if entry.is_dir():
                    if not entry.name.startswith("."):
                        folders.append(Path(entry.path))
                elif entry.name.lower().endswith(".gguf") and entry.is_file():
                    real = (os.path.realpath(entry.path) if entry.is_symlink()
                            else os.path.join(real_folder, entry.name))
                    yield Path(entry.path), real
            except OSError:
                continue
        stack.extend(reversed(folders))


# --- the Hugging Face hub cache ---------------------------------------------------------

def hf_hub_dir() -> Path:
    """As huggingface_hub finds it: HF_HUB_CACHE, else HF_HOME/hub, else the user cache."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return _expanded(os.environ[variable])
    if os.environ.get("HF_HOME"):
        return _expanded(os.environ["HF_HOME"]) / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return _expanded(cache) / "huggingface" / "hub"


def _expanded(path: str) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(path)))


def hf_repo_dir(hub: Path, repo: str) -> Path:
    return hub / ("models--" + repo.replace("/", "--"))


def _snapshots(repo_dir: Path) -> list[Path]:
    """The repo's snapshots: the one refs/main names first, then the newest first."""
    try:
        found = [p for p in (repo_dir / "snapshots").iterdir() if p.is_dir()]
    except OSError:
        return []
    found.sort(key=lambda p: (_mtime(p), p.name), reverse=True)
    try:
        main = (repo_dir / "refs" / "main").read_text(encoding="utf-8").strip()
    except OSError:
        main = ""
    return sorted(found, key=lambda p: p.name != main)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def hf_models(hub: Path) -> Iterator[Placed]:
    """Each GGUF file of each cached repo once, from the newest snapshot holding it;
    named REPO/FILE without .gguf. Downloads in progress live in blobs/, never here."""
    try:
        repos = sorted(p for p in hub.iterdir() if p.name.startswith("models--"))
    except OSError:
        return
    for repo_dir in repos:
        repo = repo_dir.name.removeprefix("models--").replace("--", "/")
        seen: set[str] = set()
        for snapshot in _snapshots(repo_dir):
            for path, real in gguf_files(snapshot):
                relative = path.relative_to(snapshot).as_posix()
                if relative not in seen:
                    seen.add(relative)
                    folder, _, name = relative.rpartition("/")
                    shown = f"{folder}/{stem(name)}" if folder else stem(name)
                    yield Placed(path, f"{repo}/{shown}", "hf", real)


def hf_find(hub: Path, repo: str, file: str) -> Path | None:
    """REPO's FILE in the hub cache (the newest snapshot holding it), if there."""
    for snapshot in _snapshots(hf_repo_dir(hub, repo)):
        path = snapshot / file
        if path.is_file():
            return path
    return None


def _hf_link_name(blob: Path) -> str | None:
    """The file name a hub cache blob goes by in its snapshots."""
    repo_dir = blob.parent.parent
    if blob.parent.name != "blobs" or not repo_dir.name.startswith("models--"):
        return None
    for snapshot in _snapshots(repo_dir):
        for path, real in gguf_files(snapshot):
            if real == str(blob):
                return stem(path.name)
    return None


# --- LM Studio ----------------------------------------------------------------------------

def lmstudio_dirs() -> list[Path]:
    home = Path.home()
    return [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]


def lmstudio_models(root: Path) -> Iterator[Placed]:
    """publisher/repo/file.gguf, named publisher/repo/file."""
    for path, real in gguf_files(root):
        folder = path.parent.relative_to(root).as_posix()
        name = stem(path.name)
        yield Placed(path, f"{folder}/{name}" if folder != "." else name, "lmstudio", real)


# --- Ollama -------------------------------------------------------------------------------

def ollama_dir() -> Path:
    return Path(os.environ.get("OLLAMA_MODELS") or "~/.ollama/models").expanduser()


def _ollama_name(host: str, namespace: str, model: str, tag: str) -> str:
    """As `ollama list` shows it: the library's models by name and tag alone."""
    if host == OLLAMA_REGISTRY:
        return f"{model}:{tag}" if namespace == "library" else f"{namespace}/{model}:{tag}"
    return f"{host}/{namespace}/{model}:{tag}"


def _model_blob(root: Path, manifest: Path) -> Path | None:
    """The blob of the manifest's model layer (the GGUF file)."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        digest = next(layer["digest"] for layer in data["layers"]
                      if layer.get("mediaType") == OLLAMA_MODEL_LAYER)
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    if not isinstance(digest, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        return None
    return root / "blobs" / digest.replace(":", "-")


def _manifests(root: Path) -> Iterator[tuple[str, Path]]:
    """(name, manifest file) of every model Ollama has: manifests/HOST/NAMESPACE/MODEL/TAG."""
    base = root / "manifests"
    try:
        tags = sorted(base.glob("*/*/*/*"))
    except OSError:
        return
    for manifest in tags:
        host, namespace, model, tag = manifest.relative_to(base).parts
        yield _ollama_name(host, namespace, model, tag), manifest


def ollama_models(root: Path) -> Iterator[Placed]:
    for name, manifest in _manifests(root):
        blob = _model_blob(root, manifest)
        if blob is not None and blob.is_file():
            yield Placed(blob, name, "ollama")


OLLAMA_NAME_RE = re.compile(r"(?:(?:(?P<host>[\w.-]+:?\d*)/)?(?P<ns>[\w.-]+)/)?"
                            r"(?P<model>[\w.-]+)(?::(?P<tag>[\w.-]+))?")


def ollama_find(root: Path, spec: str) -> Path | None:
    """The blob of an Ollama name: name[:tag], namespace/name[:tag] or host/ns/name[:tag];
    no tag means latest."""
    match = OLLAMA_NAME_RE.fullmatch(spec.strip())
    if match is None or any(p in ("", ".", "..") for p in spec.replace(":", "/").split("/")):
        return None
    parts = (match["host"] or OLLAMA_REGISTRY, match["ns"] or "library", match["model"],
             match["tag"] or "latest")
    for cased in (parts, tuple(p.lower() for p in parts)):
        manifest = root / "manifests" / Path(*cased)
        if manifest.is_file():
            blob = _model_blob(root, manifest)
            if blob is not None and blob.is_file():
                return blob
    return None


def _ollama_blob_name(blob: Path) -> str | None:
    if blob.parent.name != "blobs" or not blob.name.startswith("sha256-"):
        return None
    root = blob.parent.parent
    return next((name for name, manifest in _manifests(root)
                 if _model_blob(root, manifest) == blob), None)


def blob_name(path: Path) -> str | None:
    """The name a tool gives a file it stores under a hash (a hub cache or Ollama blob),
    for the sessions and the leaderboard; None for any other file."""
    if path.parent.name != "blobs":
        return None
    return _ollama_blob_name(path) or _hf_link_name(path)


# --- the user's folders -------------------------------------------------------------------

def folders_file() -> Path:
    return locations.config_dir() / FOLDERS_FILE


def user_folders() -> list[Path]:
    """The folders of models.toml (`folders = [...]`, relative to its folder) and of
    RBYF_MODELS (separated by ':'). A bad models.toml is a one-line UsageError."""
    config = folders_file()
    found: list[Path] = []
    try:
        text = config.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise UsageError(f"cannot read {config}: {exc.strerror}") from None
    if text:
        try:
            folders = tomllib.loads(text).get("folders", [])
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{config}: invalid TOML: {exc}") from None
        if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
            raise UsageError(f'{config}: folders must be a list of paths, e.g. folders = '
                             '["~/models"]')
        found += [config.parent / Path(f).expanduser() for f in folders]
    found += [Path(f).expanduser() for f in os.environ.get("RBYF_MODELS", "").split(os.pathsep)
              if f.strip()]
    return found


def folder_models(root: Path) -> Iterator[Placed]:
    for path, real in gguf_files(root):
        yield Placed(path, stem(path.name), "folder", real)


def everywhere() -> Iterator[Placed]:
    """Every tool's files, Ollama's first: a file two tools share goes by the first name."""
    yield from ollama_models(ollama_dir())
    yield from hf_models(hf_hub_dir())
    for root in lmstudio_dirs():
        yield from lmstudio_models(root)
    for root in user_folders():
        yield from folder_models(root)


def places() -> list[str]:
    """Where rbyf looks, for a message when it finds nothing."""
    return [str(p) for p in (ollama_dir(), hf_hub_dir(), *lmstudio_dirs(), *user_folders())]
