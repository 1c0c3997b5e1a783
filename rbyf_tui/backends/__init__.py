"""Backends: where the model runs. `make_backend` picks one from command-line options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rbyf_tui import model_files
from rbyf_tui.backends.base import Backend


@dataclass(frozen=True)
class BackendOptions:
    """What the user chose on the command line or the home screen."""

    model: str | None = None
    n_ctx: int | None = None
    gpu_layers: int = 0
    threads: int | None = None
    seed: int | None = None
    chat_format: str | None = None
    reuse_prefix: bool = False
    verbose: bool = False

    def settings(self, n_ctx: int, seed: int, max_tokens: int | None = None) -> dict[str, Any]:
        """What a session records about how its model ran."""
        from rbyf_tui.backends.llama_cpp import default_threads

        return {
            "backend": "llama.cpp",
            "model_path": self.model,
            "n_ctx": n_ctx,
            "n_gpu_layers": self.gpu_layers,
            "threads": self.threads or default_threads(),
            "seed": seed,
            "chat_format": self.chat_format,
            "reuse_prefix": self.reuse_prefix,
            "max_tokens": max_tokens,
        }


def model_path(options: BackendOptions) -> Path:
    """--model, else the demo model when its package is installed."""
    if options.model:
        return Path(options.model).expanduser()
    return model_files.demo_model_path()


def make_backend(options: BackendOptions, n_ctx: int, seed: int) -> Backend:
    from rbyf_tui.backends.llama_cpp import LlamaCppBackend, LlamaSettings

    return LlamaCppBackend(LlamaSettings(
        model_path=model_path(options),
        n_ctx=n_ctx,
        n_gpu_layers=options.gpu_layers,
        threads=options.threads,
        seed=seed,
        chat_format=options.chat_format,
        reuse_prefix=options.reuse_prefix,
        verbose=options.verbose,
    ))
