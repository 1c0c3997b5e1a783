"""Just enough of the GGUF format (v2/v3) to make test models from the demo one: read the
header, rename or drop metadata keys, and cut a file short. The tensors are copied as bytes.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import BinaryIO

STRING, ARRAY = 8, 9
# value type -> size in bytes, for the fixed-size types
FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
DEFAULT_ALIGNMENT = 32


@dataclass
class Entry:
    key: str
    type: int
    raw: bytes  # the value as stored, after its type


@dataclass
class Header:
    version: int
    entries: list[Entry]
    tensor_count: int
    tensor_infos: bytes  # as stored
    data_offset: int  # where the tensor data starts in the file

    def alignment(self) -> int:
        for e in self.entries:
            if e.key == "general.alignment" and e.type == 4:
                return int(struct.unpack("<I", e.raw)[0])
        return DEFAULT_ALIGNMENT


def _read(fh: BinaryIO, size: int) -> bytes:
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("the GGUF header ends early")
    return data


def _u32(fh: BinaryIO) -> int:
    return int(struct.unpack("<I", _read(fh, 4))[0])


def _u64(fh: BinaryIO) -> int:
    return int(struct.unpack("<Q", _read(fh, 8))[0])


def _string(fh: BinaryIO) -> bytes:
    return _read(fh, _u64(fh))


def _value(fh: BinaryIO, kind: int) -> bytes:
    if kind in FIXED:
        return _read(fh, FIXED[kind])
    if kind == STRING:
        text = _string(fh)
        return struct.pack("<Q", len(text)) + text
    if kind == ARRAY:
        item, count = _u32(fh), _u64(fh)
        parts = [struct.pack("<IQ", item, count)]
        if item in FIXED:
            parts.append(_read(fh, FIXED[item] * count))
        else:
            parts.extend(_value(fh, item) for _ in range(count))
        return b"".join(parts)
    raise ValueError(f"unknown GGUF value type {kind}")


def read_header(path: Path) -> Header:
    with path.open("rb") as fh:
        if _read(fh, 4) != b"GGUF":
            raise ValueError(f"{path} is not GGUF")
        version = _u32(fh)
        tensor_count, kv_count = _u64(fh), _u64(fh)
        entries = []
        for _ in range(kv_count):
            key = _string(fh).decode()
            kind = _u32(fh)
            entries.append(Entry(key, kind, _value(fh, kind)))
        start = fh.tell()
        for _ in range(tensor_count):
            _string(fh)
            dims = _u32(fh)
            _read(fh, 8 * dims + 4 + 8)
        end = fh.tell()
        fh.seek(start)
        infos = _read(fh, end - start)
    header = Header(version, entries, tensor_count, infos, 0)
    align = header.alignment()
    header.data_offset = -(-end // align) * align
    return header


def string_value(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _header_bytes(header: Header, entries: list[Entry]) -> bytes:
    parts = [b"GGUF", struct.pack("<IQQ", header.version, header.tensor_count, len(entries))]
    for e in entries:
        key = e.key.encode()
        parts += [struct.pack("<Q", len(key)), key, struct.pack("<I", e.type), e.raw]
    parts.append(header.tensor_infos)
    out = b"".join(parts)
    align = header.alignment()
    return out + b"\0" * (-len(out) % align)


def rewrite(src: Path, dst: Path, edit: Callable[[Entry], Entry | None]) -> Path:
    """A copy of `src` whose metadata entries went through `edit` (None drops one)."""
    header = read_header(src)
    entries = [e for e in (edit(Entry(x.key, x.type, x.raw)) for x in header.entries) if e]
    with src.open("rb") as fin, dst.open("wb") as fout:
        fout.write(_header_bytes(header, entries))
        fin.seek(header.data_offset)
        shutil.copyfileobj(fin, fout, 16 << 20)
    return dst


# What llama.cpp says of a `cut_short` copy of the demo model (its first tensor is cut).
CUT_SHORT_ERROR = ("tensor 'token_embd.weight' data is not within the file bounds, model is "
                   "corrupted or incomplete")


def cut_short(src: Path, dst: Path, tensor_bytes: int = 4096) -> Path:
    """The whole header (it passes every check of the header), then only a few tensor bytes."""
    end = read_header(src).data_offset + tensor_bytes
    with src.open("rb") as fin, dst.open("wb") as fout:
        fout.write(fin.read(end))
    return dst


def header_copy(src: Path, dst: Path) -> Path:
    """Another file with `src`'s header and size, its tensor data left as a hole (no disk
    space, nothing written): the same facts as `src`, a different file (inode)."""
    end = read_header(src).data_offset
    with src.open("rb") as fin, dst.open("wb") as fout:
        fout.write(fin.read(end))
        fout.truncate(src.stat().st_size)
    return dst


# Python values -> GGUF value types (an explicit (type, value) pair picks another one).
U16, U32, I32, F32, BOOL, U64 = 2, 4, 5, 6, 7, 10
_PACK = {2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d",
         0: "<B", 1: "<b"}


def _typed(value: object) -> tuple[int, object]:
    if isinstance(value, tuple):
        return int(value[0]), value[1]
    if isinstance(value, bool):
        return BOOL, value
    if isinstance(value, int):
        return (U32 if 0 <= value < 1 << 32 else U64), value
    if isinstance(value, float):
        return F32, value
    if isinstance(value, str):
        return STRING, value
    if isinstance(value, list):
        return ARRAY, value
    raise TypeError(f"no GGUF type for {value!r}")


def _encode(kind: int, value: object) -> bytes:
    if kind == STRING:
        return string_value(str(value))
    if kind == ARRAY:
        assert isinstance(value, list)
        items = value
        item = _typed(items[0])[0] if items else STRING
        return struct.pack("<IQ", item, len(items)) + b"".join(
            _encode(item, _typed(v)[1]) for v in items)
    return struct.pack(_PACK[kind], value)


def write_gguf(path: Path, metadata: dict[str, object],
               tensors: Sequence[tuple[str, tuple[int, ...]]] = (), *,
               tensor_bytes: int | None = None) -> int:
    """A GGUF v3 file of `metadata` and F32 tensors of these shapes, its tensor data a hole
    of the tensors' size (or `tensor_bytes`); returns the header's length."""
    parts = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), len(metadata))]
    for key, value in metadata.items():
        kind, raw = _typed(value)
        parts += [string_value(key), struct.pack("<I", kind), _encode(kind, raw)]
    offset = 0
    for name, shape in tensors:
        parts += [string_value(name), struct.pack("<I", len(shape)),
                  struct.pack(f"<{len(shape)}Q", *shape), struct.pack("<IQ", 0, offset)]
        size = 4 * prod(shape)
        offset += size + (-size % DEFAULT_ALIGNMENT)
    header = b"".join(parts)
    header += b"\0" * (-len(header) % DEFAULT_ALIGNMENT)
    with path.open("wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + (offset if tensor_bytes is None else tensor_bytes))
    return len(header)
