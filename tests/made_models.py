"""A second real model, for comparisons: the demo model requantized with llama.cpp's own
quantize API (Q8_0 from its Q4_K_M: a few seconds), cached under the test cache dir."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

QUANTS = {"Q8_0": 7, "Q3_K_M": 12}  # llama_ftype values (llama_cpp.LLAMA_FTYPE_MOSTLY_*)


def requantized(demo: Path, folder: Path, quant: str = "Q8_0") -> Path:
    """`demo` quantized again to `quant`; made once per cache folder."""
    import llama_cpp

    target = folder / f"gemma-3-270m-it-{quant}.gguf"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{target.name}.part"
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANTS[quant]
    params.allow_requantize = True
    params.nthread = os.cpu_count() or 1
    failed = llama_cpp.llama_model_quantize(str(demo).encode(), str(partial).encode(),
                                            ctypes.byref(params))
    if failed:
        raise RuntimeError(f"llama_model_quantize failed ({failed}) for {demo} -> {quant}")
    partial.rename(target)
    return target
