"""Backends: where the model runs. `make_backend` picks one from command-line options."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rbyf_tui import model_files
from rbyf_tui.backends.base import Backend, ModelInfo
from rbyf_tui.errors import UsageError

API_KEY_VARIABLES = ("RBYF_API_KEY", "OPENAI_API_KEY")


@dataclass(frozen=True)
class BackendOptions:
    """What the user chose on the command line or the home screen."""

    backend: str = "llama"  # llama (in-process) | openai (a server)
    model: str | None = None
    base_url: str | None = None
    api_model: str | None = None
    first_token_timeout_s: float = 600.0
    token_timeout_s: float = 120.0
    n_ctx: int | None = None
    gpu_layers: int = 0
    threads: int | None = None
    seed: int | None = None
    chat_format: str | None = None
    reuse_prefix: bool = False
    verbose: bool = False
    api_key_env: str | None = None  # the variable holding the key (a model list's entry)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BackendOptions:
        """The model options of a parsed command line (absent ones take the defaults)."""
        given = {name: getattr(args, flag) for name, flag in _FLAGS.items()
                 if hasattr(args, flag)}
        return cls(**given)

    @property
    def server(self) -> str | None:
        """The base URL as it may be shown and stored: without a user:password part."""
        return public_url(self.base_url) if self.base_url else None

    def check(self) -> None:
        if self.backend == "openai":
            if not self.base_url:
                raise UsageError("--backend openai needs --base-url (e.g. "
                                 "http://127.0.0.1:8080/v1)")
            if self.model:
                raise UsageError("--model is for the in-process backend: with --backend "
                                 "openai, name the served model with --api-model")
        elif self.base_url or self.api_model:
            raise UsageError("--base-url and --api-model need --backend openai")

    def settings(self, n_ctx: int, seed: int, max_tokens: int | None = None,
                 model: ModelInfo | None = None) -> dict[str, Any]:
        """What a session records about how its model ran (never the API key)."""
        if self.backend == "openai":
            served = model.extra.get("api_model") if model else None
            return {"backend": "openai", "base_url": self.server,
                    "api_model": served or self.api_model, "seed": seed,
                    "max_tokens": max_tokens}
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


# BackendOptions field -> the command line's dest (see cli._model_options).
_FLAGS = {
    "backend": "backend", "model": "model", "base_url": "base_url", "api_model": "api_model",
    "first_token_timeout_s": "first_token_timeout", "token_timeout_s": "token_timeout",
    "n_ctx": "ctx", "gpu_layers": "gpu_layers", "threads": "threads", "seed": "seed",
    "chat_format": "chat_format", "reuse_prefix": "reuse_prefix", "verbose": "verbose",
}


def public_url(url: str) -> str:
    """`url` without the user-info part (user:password@), which is never stored or shown."""
    head, sep, rest = url.partition("://")
    if not sep:
        head, rest = "", url
    host, slash, path = rest.partition("/")
    host = host.rpartition("@")[2]
    return f"{head}{sep}{host}{slash}{path}"


def model_path(options: BackendOptions) -> Path:
    """--model, else the demo model when its package is installed."""
    if options.model:
        return Path(options.model).expanduser()
    return model_files.demo_model_path()


def api_key(variable: str | None = None) -> str | None:
    if variable:
        return os.environ.get(variable) or None
    return next((os.environ[v] for v in API_KEY_VARIABLES if os.environ.get(v)), None)


def make_backend(options: BackendOptions, n_ctx: int, seed: int) -> Backend:
    options.check()
    if options.backend == "openai":
        from rbyf_tui.backends.openai_compat import OpenAIBackend, OpenAISettings

        return OpenAIBackend(OpenAISettings(
            base_url=options.base_url or "", api_model=options.api_model,
            api_key=api_key(options.api_key_env),
            first_byte_timeout_s=options.first_token_timeout_s,
            idle_timeout_s=options.token_timeout_s))
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
