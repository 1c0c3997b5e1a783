"""The models a person already has: every GGUF file other tools keep (model_places), the
demo model and the files rbyf rated, each once, with the facts of its header (cached by
path, size and modification time) and what rbyf knows of it. Also `--model`'s values
turned into files: a path, an Ollama name, a listed name's unique prefix, hf:REPO/FILE.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rbyf_tui import locations, model_files, model_places
from rbyf_tui.errors import ModelError
from rbyf_tui.gguf_header import GGUFFacts, Header, read_header

if TYPE_CHECKING:
    from rbyf_tui.store import ModelUsage, Store

SORT_KEYS = ("name", "size", "used", "score")
CACHE_FILE = "model-facts.json"
CACHE_VERSION = 1
# (repo, file) -> the downloaded file's path; resolve_model's hook for hf: specs that are
# not in the hub cache yet (`rbyf pull` can supply one).
Fetch = Callable[[str, str], Path]


@dataclass(frozen=True)
class FoundModel:
    path: Path  # the file to load (a split model's first file)
    name: str  # Ollama "qwen2.5:1.5b"; hub cache "Org/Repo/file"; LM Studio
    #            "publisher/repo/file"; anything else the file's name without .gguf
    source: str  # hf | lmstudio | ollama | folder | rated (known to rbyf's DB only) | demo
    size_bytes: int  # all files of a split model together
    shards: int
    facts: GGUFFacts
    sessions: int = 0  # what rbyf knows (from the store; 0 / None when nothing)
    mean_score: float | None = None
    last_used: datetime | None = None  # with its zone (UTC)


# --- the facts cache ----------------------------------------------------------------------

class _FactsCache:
    """Headers read before, by resolved path, size and mtime_ns; a file that is no GGUF
    is remembered too. A cache that cannot be read or written only costs time."""

    def __init__(self) -> None:
        self.path = locations.cache_dir() / CACHE_FILE
        self.entries: dict[str, dict[str, Any]] = {}
        self.used: dict[str, dict[str, Any]] = {}
        self.changed = False
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("version") == CACHE_VERSION \
                    and isinstance(data.get("files"), dict):
                self.entries = data["files"]

    def header(self, real: str, stat: os.stat_result) -> Header | None:
        entry = self.entries.get(real)
        if not (isinstance(entry, dict) and entry.get("size") == stat.st_size
                and entry.get("mtime_ns") == stat.st_mtime_ns):
            entry = _entry(real, stat)
            self.changed = True
        self.used[real] = entry
        try:
            return _header_of(entry)
        except (KeyError, TypeError, ValueError):  # an entry from a damaged cache
            self.used[real] = entry = _entry(real, stat)
            self.changed = True
            return _header_of(entry)

    def save(self) -> None:
        if not self.changed and len(self.used) == len(self.entries):
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "files": self.used}),
                           encoding="utf-8")
            os.replace(tmp, self.path)


def _entry(real: str, stat: os.stat_result) -> dict[str, Any]:
    entry: dict[str, Any] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        header = read_header(Path(real))
    except ValueError as exc:
        return {**entry, "error": str(exc)}
    return {**entry, "facts": dataclasses.asdict(header.facts),
            "tensor_parameters": header.tensor_parameters,
            "parameter_count_given": header.parameter_count_given,
            "data_start": header.data_start, "needed_bytes": header.needed_bytes}


def _header_of(entry: dict[str, Any]) -> Header | None:
    if "error" in entry:
        return None
    return Header(GGUFFacts(**entry["facts"]), int(entry["tensor_parameters"]),
                  bool(entry["parameter_count_given"]), int(entry["data_start"]),
                  int(entry["needed_bytes"]))


# --- finding ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _File:
    placed: model_places.Placed
    real: str
    stat: os.stat_result

    @property
    def key(self) -> tuple[int, int]:
        return self.stat.st_dev, self.stat.st_ino


def _file(placed: model_places.Placed) -> _File | None:
    try:
        real = placed.real or os.path.realpath(placed.path)
        return _File(placed, real, os.stat(real))
    except OSError:
        return None


def find_models(store: Store | None = None) -> list[FoundModel]:
    """Every model found, each file once (the first tool's name for a file two share),
    sorted by name; with what the store knows of each when given one."""
    usage = store.model_usage() if store is not None else {}
    cache = _FactsCache()
    seen: set[tuple[int, int]] = set()
    files: list[_File] = []
    for placed in model_places.everywhere():
        found = _file(placed)
        if found is not None and found.key not in seen:
            seen.add(found.key)
            files.append(found)
    models = _models(files, cache, usage)
    demo = _demo(cache, seen, usage)
    if demo is not None:
        models.append(demo)
    for path, known in usage.items():  # rated before, found nowhere else
        found = _file(model_places.Placed(Path(path), known.name, "rated"))
        if found is not None and found.key not in seen:
            seen.add(found.key)
            models += _models([found], cache, usage)
    cache.save()
    return sorted(models, key=lambda m: (m.name.lower(), str(m.path)))


def _models(files: list[_File], cache: _FactsCache,
            usage: dict[str, ModelUsage]) -> list[FoundModel]:
    """The files that are models: split files joined, projectors, vocabularies, adapters
    and partial files left out."""
    singles: list[_File] = []
    splits: dict[tuple[str, str, int], dict[int, _File]] = {}
    for f in files:
        cut = model_places.SPLIT_RE.search(f.placed.path.name)
        if cut:
            group = (str(f.placed.path.parent), f.placed.name, int(cut[2]))
            splits.setdefault(group, {})[int(cut[1])] = f
        else:
            singles.append(f)
    models = [m for f in singles if (m := _model([f], cache, usage)) is not None]
    for (_, _, count), shards in splits.items():
        if sorted(shards) == list(range(1, count + 1)):  # else a download in progress
            model = _model([shards[n] for n in sorted(shards)], cache, usage)
            if model is not None:
                models.append(model)
    return models


def _model(shards: list[_File], cache: _FactsCache,
           usage: dict[str, ModelUsage]) -> FoundModel | None:
    headers = [cache.header(f.real, f.stat) for f in shards]
    first, head = shards[0], headers[0]
    if head is None or any(h is None for h in headers):
        return None
    if any(f.stat.st_size < h.needed_bytes for f, h in zip(shards, headers, strict=True)
           if h is not None):
        return None  # cut short: a partial download
    facts = head.facts
    lone_later_shard = len(shards) == 1 and facts.split_count and facts.split_no
    if facts.kind != "model" or "mmproj" in first.placed.path.name.lower() \
            or lone_later_shard:
        return None
    if len(shards) > 1 and not head.parameter_count_given:
        total = sum(h.tensor_parameters for h in headers if h is not None)
        facts = dataclasses.replace(facts, parameters=total or None)
    return _with_usage(FoundModel(
        first.placed.path, first.placed.name, first.placed.source,
        sum(f.stat.st_size for f in shards), len(shards), facts), usage.get(first.real))


def _demo(cache: _FactsCache, seen: set[tuple[int, int]],
          usage: dict[str, ModelUsage]) -> FoundModel | None:
    """The demo model, assembled or not (its header is the start of its first chunk)."""
    demo = model_files.demo_files()
    if demo is None:
        return None
    target, header_file, size = demo
    with contextlib.suppress(OSError):
        if target.is_file():
            info = target.stat()
            if (info.st_dev, info.st_ino) in seen:
                return None
            seen.add((info.st_dev, info.st_ino))
    found = _file(model_places.Placed(header_file, model_files.model_name(target), "demo"))
    if found is None:
        return None
    header = cache.header(found.real, found.stat)
    if header is None:
        return None
    return _with_usage(FoundModel(target, found.placed.name, "demo", size, 1, header.facts),
                       usage.get(os.path.realpath(target)))


def _with_usage(model: FoundModel, known: ModelUsage | None) -> FoundModel:
    if known is None:
        return model
    used = known.last_used  # the store's times are UTC without a zone
    if used is not None and used.tzinfo is None:
        used = used.replace(tzinfo=UTC)
    return dataclasses.replace(model, sessions=known.sessions, mean_score=known.mean_score,
                               last_used=used)


# --- listing ------------------------------------------------------------------------------

def sort_models(models: list[FoundModel], key: str) -> list[FoundModel]:
    """name: A to Z; size: biggest first; used: most recently used first; score: best mean
    first. Models without a date or score come last, by name."""
    by_name = sorted(models, key=lambda m: (m.name.lower(), str(m.path)))
    if key == "name":
        return by_name
    if key == "size":
        return sorted(by_name, key=lambda m: -m.size_bytes)
    if key == "used":
        return sorted(by_name, key=lambda m: (m.last_used is None,
                                              -(m.last_used.timestamp() if m.last_used
                                                else 0)))
    if key == "score":
        return sorted(by_name, key=lambda m: (m.mean_score is None, -(m.mean_score or 0)))
    raise ValueError(f"unknown sort key {key!r}: use one of {', '.join(SORT_KEYS)}")


def matches(model: FoundModel, text: str) -> bool:
    """Filtering as you type: every word, any case, in the name, architecture,
    quantization or source."""
    facts = model.facts
    haystack = " ".join(p for p in (model.name, facts.architecture, facts.quantization,
                                    model.source) if p).lower()
    return all(word in haystack for word in text.lower().split())


# --- --model ------------------------------------------------------------------------------

def _path_like(spec: str) -> bool:
    """An absolute or relative path, or a .gguf file in a folder (never a model's name)."""
    return spec.startswith(("/", "~", ".")) or (
        "/" in spec.replace(os.sep, "/") and spec.lower().endswith(".gguf"))


def model_argument(spec: str, fetch: Fetch | None = None) -> str:
    """A --model value as the loader takes it: the file a name stands for (`fetch` gets an
    hf:REPO/FILE not in the cache yet); a path that names no file stays as given, so the
    loader's own error (a failed load, recorded) tells it."""
    if _path_like(spec) and not spec.startswith("hf:"):
        return spec
    return str(resolve_model(spec, fetch=fetch))


def resolve_model(spec: str, *, fetch: Fetch | None = None) -> Path:
    """The file `spec` names: an existing path; an Ollama name (name means name:latest);
    hf:REPO/FILE from the hub cache (`fetch`, when given, gets one not there yet); a
    listed model's name or its unique prefix (any case; also of the name's last part).
    Else a one-line ModelError."""
    text = spec.strip()
    if not text:
        raise ModelError("--model is empty: give a .gguf path or a model name (see "
                         "`rbyf models`)")
    if text.startswith("hf:"):
        return _from_hub(text[3:], fetch)
    path = Path(text).expanduser()
    if path.is_file() or (path.is_dir() and _path_like(text)):  # a folder: the loader says so
        return path
    if _path_like(text):
        raise ModelError(f"model file not found: {path}: check the path given to --model")
    blob = model_places.ollama_find(model_places.ollama_dir(), text)
    if blob is not None:
        return blob
    return _by_name(text)


def _by_name(text: str) -> Path:
    models = find_models()  # names only: what rbyf knows of them is not needed
    wanted = text.lower()
    if wanted.endswith(".gguf"):  # a file's name: that file, never a longer one
        wanted = wanted.removesuffix(".gguf")
        found = [m for m in models if wanted in (m.name.lower(),
                                                 m.name.lower().rpartition("/")[2])]
    else:
        found = [m for m in models if m.name.lower() == wanted] or [
            m for m in models if m.name.lower().startswith(wanted)
            or m.name.lower().rpartition("/")[2].startswith(wanted)]
    if len(found) == 1:
        model = found[0]
        return model_files.demo_model_path() if model.source == "demo" else model.path
    if found:
        names = ", ".join(m.name for m in found[:5]) + (", …" if len(found) > 5 else "")
        alike = text.lower().endswith(".gguf") or len({m.name for m in found}) == 1
        fix = ("give its path, or its whole name as `rbyf models` shows it" if alike
               else "type more of the name (see `rbyf models`)")
        raise ModelError(f"'{text}' matches {len(found)} models ({names}): {fix}")
    if text.lower().endswith(".gguf"):
        raise ModelError(f"model file not found: {text}: check the path given to --model")
    raise ModelError(f"no model file or model named '{text}' (among {len(models)} found): "
                     "give a .gguf path, an Ollama name, hf:REPO/FILE or a name from "
                     "`rbyf models`")


def _from_hub(rest: str, fetch: Fetch | None) -> Path:
    parts = rest.strip("/").split("/")
    if len(parts) < 3 or not all(parts):
        raise ModelError(f"hf:{rest} is not hf:REPO/FILE: write it as "
                         "hf:Org/Repo-GGUF/file.gguf")
    repo, file = "/".join(parts[:2]), "/".join(parts[2:])
    hub = model_places.hf_hub_dir()
    found = model_places.hf_find(hub, repo, file)
    if found is not None:
        return found
    if fetch is not None:
        return fetch(repo, file)
    raise ModelError(f"{repo}/{file} is not in the Hugging Face cache ({hub}): download it "
                     f"with: rbyf pull {repo} {file}")


def parameter_count(n: int | None) -> str:
    """Parameters as model names give them: 270M, 1.5B, 70B ("" when unknown)."""
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n and n >= scale:
            value = n / scale
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return str(n or "")


def context_length(n: int | None) -> str:
    """A trained context in tokens: 32k, 128k, 1M ("" when unknown)."""
    if n and n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    return f"{round(n / 1024)}k" if n and n >= 1024 else str(n or "")
