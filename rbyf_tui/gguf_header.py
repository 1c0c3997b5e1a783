"""A GGUF file's header (v2/v3): its metadata and tensor infos, read without the weights.

The header is read in chunks; values rbyf does not need are stepped over, long fixed-size
arrays by seeking. Of the tensor data after the header, at most the end of the last chunk
is read.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

GGUF_MAGIC = b"GGUF"

# llama.cpp's LLAMA_FTYPE values (general.file_type in GGUF metadata).
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE",
}

# Metadata value types: the fixed-size ones (struct format), 8 = string, 9 = array.
SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
           11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
_SIZES = {kind: struct.calcsize(fmt) for kind, fmt in SCALARS.items()}
_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_SHAPES = [struct.Struct(f"<{n}Q").unpack_from for n in range(9)]
DEFAULT_ALIGNMENT = 32
# Reads of this size (more for a longer value): a header ends inside the last one, so at
# most this much past it is read; a big vocabulary takes a hundred reads, fast still.
READ_SIZE = 64 << 10
# A tensor info's most bytes as llama.cpp writes them (a name of at most 64 bytes, at most
# 4 dims): reads stop there, not in the tensor data after the header.
MAX_TENSOR_INFO = 8 + 64 + 4 + 4 * 8 + 4 + 8

# The keys whose values rbyf keeps; the rest are stepped over.
_STRINGS = ("general.architecture", "general.name", "general.type")
_NUMBERS = ("general.parameter_count", "general.file_type", "general.alignment", "split.no",
            "split.count")


@dataclass(frozen=True)
class GGUFFacts:
    architecture: str | None  # general.architecture
    parameters: int | None  # general.parameter_count, else summed from the tensor shapes
    quantization: str | None  # general.file_type, named as llama.cpp names it
    context_length: int | None  # {architecture}.context_length: the trained context
    chat_template: bool  # tokenizer.chat_template present
    kind: str  # model | mmproj | vocab (no tensors) | adapter
    split_no: int | None  # split.no (0-based) of a split model's file, else None
    split_count: int | None  # split.count
    name: str | None  # general.name


@dataclass(frozen=True)
class Header:
    facts: GGUFFacts
    tensor_parameters: int  # the elements of this file's own tensors
    parameter_count_given: bool  # general.parameter_count was there (the whole model's)
    data_start: int  # where the tensor data begins
    needed_bytes: int  # a file shorter than this lacks some of its tensor data


def read_facts(path: Path) -> GGUFFacts:
    """The header's facts; ValueError (one line) when it is not a readable GGUF file."""
    return read_header(path).facts


def read_header(path: Path) -> Header:
    try:
        with open(path, "rb", buffering=0) as fh:
            return _Parser(fh, os.fstat(fh.fileno()).st_size).header()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (struct.error, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: a damaged GGUF header ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


class _Parser:
    """Walks the header through a buffer refilled from the file as it goes."""

    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh, self.size = fh, size
        self.buf = b""
        self.pos = 0  # in buf
        self.base = 0  # the file offset of buf[0]
        self.end = size  # reads stop here (the header's end, once it can be bounded)

    def tell(self) -> int:
        return self.base + self.pos

    def fill(self, n: int) -> None:
        """Make buf[pos:pos + n] available."""
        have = len(self.buf) - self.pos
        if have >= n:
            return
        start = self.base + len(self.buf)
        if self.tell() + n > self.size:
            raise ValueError("the GGUF header ends early")
        want = min(max(n - have, min(READ_SIZE, self.end - start)), self.size - start)
        parts = [self.buf[self.pos:]]
        while want > 0:
            block = self.fh.read(want)
            if not block:
                raise ValueError("the GGUF header ends early")
            parts.append(block)
            want -= len(block)
        self.buf = b"".join(parts)
        self.base, self.pos = self.tell(), 0

    def skip(self, n: int) -> None:
        if self.pos + n <= len(self.buf):
            self.pos += n
            return
        target = self.tell() + n
        if target > self.size:
            raise ValueError("the GGUF header ends early")
        self.fh.seek(target)
        self.buf, self.base, self.pos = b"", target, 0

    def u32(self) -> int:
        self.fill(4)
        self.pos += 4
        return int(_U32(self.buf, self.pos - 4)[0])

    def u64(self) -> int:
        self.fill(8)
        self.pos += 8
        return int(_U64(self.buf, self.pos - 8)[0])

    def text(self) -> str:
        n = self.u64()
        self.fill(n)
        self.pos += n
        return self.buf[self.pos - n:self.pos].decode("utf-8", "replace")

    def scalar(self, kind: int) -> int | float | bool:
        size = _SIZES[kind]
        self.fill(size)
        self.pos += size
        return struct.unpack_from(SCALARS[kind], self.buf, self.pos - size)[0]

    def skip_value(self, kind: int) -> None:
        if kind in _SIZES:
            self.skip(_SIZES[kind])
        elif kind == STRING:
            self.skip(self.u64())
        elif kind == ARRAY:
            inner, count = self.u32(), self.u64()
            if inner in _SIZES:
                self.skip(count * _SIZES[inner])
            elif inner == STRING:
                self.skip_strings(count)
            else:
                for _ in range(count):
                    self.skip_value(inner)
        else:
            raise ValueError(f"unknown GGUF value type {kind}")

    def skip_strings(self, count: int) -> None:
        """Step over `count` strings (a vocabulary: the one long loop of a header)."""
        while count:
            buf, pos, done = self.buf, self.pos, 0
            try:  # no bounds checks in the loop: the buffer's end stops it
                for done in range(count):  # noqa: B007 (`done` is read after the loop)
                    pos += 8 + _U64(buf, pos)[0]
                done = count
            except struct.error:
                pass  # string `done` begins at `pos`, past what the buffer holds
            count -= done
            self.skip(pos - self.pos)
            if count:
                self.skip(self.u64())
                count -= 1

    def tensor_infos(self, count: int) -> tuple[int, int]:
        """Step over `count` tensor infos: (their elements, the last data offset)."""
        elements, last = 0, -1
        while count:
            buf, pos, done = self.buf, self.pos, 0
            try:  # as in skip_strings: the buffer's end stops the loop
                for done in range(count):  # noqa: B007 (`done` is read after the loop)
                    at = pos + 8 + _U64(buf, pos)[0]  # after the name
                    dims = _U32(buf, at)[0]
                    if dims > 8:
                        raise ValueError("a damaged GGUF header (a tensor of over 8 dims)")
                    shape = _SHAPES[dims](buf, at + 4)
                    at += 8 * dims + 8  # the dims, then the tensor's type
                    offset = _U64(buf, at)[0]
                    pos = at + 8
                    elements += math.prod(shape)
                    last = max(last, offset)
                done = count
            except struct.error:
                pass
            count -= done
            self.pos = pos
            if count:  # one info across the buffer's end
                self.skip(self.u64())
                dims = self.u32()
                if dims > 8:
                    raise ValueError("a damaged GGUF header (a tensor of over 8 dims)")
                self.fill(8 * dims + 12)
                elements += math.prod(_SHAPES[dims](self.buf, self.pos))
                self.pos += 8 * dims + 4
                last = max(last, self.u64())
                count -= 1
        return elements, last

    def header(self) -> Header:
        self.fill(min(4, self.size))
        if self.buf[:4] != GGUF_MAGIC:
            raise ValueError("not a GGUF file")
        self.pos = 4
        version = self.u32()
        if version not in (2, 3):
            raise ValueError(f"GGUF version {version} is not supported (2 or 3 are)")
        tensors, entries = self.u64(), self.u64()
        if tensors > self.size or entries > self.size:
            raise ValueError("a damaged GGUF header (impossible counts)")
        strings: dict[str, str] = {}
        numbers: dict[str, int] = {}
        contexts: dict[str, int] = {}
        template = False
        for _ in range(entries):
            key = self.text()
            kind = self.u32()
            if kind == STRING and key in _STRINGS:
                strings[key] = self.text()
            elif kind in _SIZES and kind not in (6, 12) and (
                    key in _NUMBERS or key.endswith(".context_length")):
                value = int(self.scalar(kind))
                (numbers if key in _NUMBERS else contexts)[key] = value
            else:
                if key == "tokenizer.chat_template" or key.startswith("tokenizer.chat_template."):
                    template = True
                self.skip_value(kind)
        self.end = min(self.size, self.tell() + tensors * MAX_TENSOR_INFO)
        elements, last_offset = self.tensor_infos(tensors)
        align = numbers.get("general.alignment") or DEFAULT_ALIGNMENT
        end = self.tell()
        data_start = -(-end // align) * align
        needed = data_start + last_offset + 1 if tensors else end
        return Header(_facts(strings, numbers, contexts, template, tensors, elements),
                      elements, "general.parameter_count" in numbers, data_start, needed)


def _facts(strings: dict[str, str], numbers: dict[str, int], contexts: dict[str, int],
           template: bool, tensors: int, elements: int) -> GGUFFacts:
    arch = strings.get("general.architecture")
    kind = strings.get("general.type", "model")
    split_count = numbers.get("split.count")
    if kind == "mmproj" or arch == "clip":
        kind = "mmproj"
    elif kind != "adapter":
        kind = "vocab" if tensors == 0 and split_count is None else "model"
    file_type = numbers.get("general.file_type")
    return GGUFFacts(
        architecture=arch,
        parameters=numbers.get("general.parameter_count") or elements or None,
        quantization=FILE_TYPES.get(file_type) if file_type is not None else None,
        context_length=contexts.get(f"{arch}.context_length"),
        chat_template=template,
        kind=kind,
        split_no=numbers.get("split.no") if split_count is not None else None,
        split_count=split_count,
        name=strings.get("general.name"),
    )
