"""Resuming a session: the same catalog, the same model (checked by sha256), the same settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rbyf_tui import model_files
from rbyf_tui.backends import BackendOptions
from rbyf_tui.backends.base import ModelInfo
from rbyf_tui.catalog import Catalog
from rbyf_tui.errors import ModelError, RbyfError
from rbyf_tui.store import SessionRef, Store


@dataclass(frozen=True)
class ResumePlan:
    session: SessionRef
    catalog: Catalog
    options: BackendOptions
    n_ctx: int
    seed: int
    max_tokens: int | None


class ModelFileMoved(ModelError):
    """The resumed session's model file is gone or changed: the user may point to it."""


def find_resumable(store: Store, session_id: str) -> SessionRef:
    """The session by id or prefix, refused in one line once every task is rated."""
    session = store.find_session(session_id)
    if session.status == "complete":
        raise RbyfError(f"session {session.id} is complete: every task is rated; start a new "
                        "one, or rate again with rbyf rate")
    return session


def plan(store: Store, session_id: str, given: BackendOptions,
         max_tokens: int | None = None) -> ResumePlan:
    """How to go on with a session: its own settings, except what the user gave now."""
    session = find_resumable(store, session_id)
    catalog = store.session_catalog(session)
    saved: dict[str, Any] = session.settings
    backend = saved.get("backend", "llama.cpp")
    if backend == "openai":
        options = replace(given, backend="openai", model=None,
                          base_url=given.base_url or saved.get("base_url"),
                          api_model=given.api_model or saved.get("api_model"))
    else:
        options = replace(
            given, backend="llama",
            model=given.model or saved.get("model_path"),
            gpu_layers=given.gpu_layers or int(saved.get("n_gpu_layers") or 0),
            threads=given.threads or saved.get("threads"),
            chat_format=given.chat_format or saved.get("chat_format"),
            reuse_prefix=given.reuse_prefix or bool(saved.get("reuse_prefix")),
        )
        check_model_file(session, options.model)
    n_ctx = given.n_ctx or int(saved.get("n_ctx") or catalog.n_ctx)
    seed = given.seed if given.seed is not None else int(saved.get("seed") or 0)
    return ResumePlan(session, catalog, options, n_ctx, seed,
                      max_tokens if max_tokens is not None else saved.get("max_tokens"))


def _expected_sha(session: SessionRef) -> str | None:
    return session.model_id.removeprefix("sha256:") if session.model_id.startswith(
        "sha256:") else None


def check_model_file(session: SessionRef, path: str | None) -> None:
    """The file must be the one the session began with; say how to point to it if not."""
    sha = _expected_sha(session)
    if sha is None:
        return
    hint = (f"pass --model with the file session {session.id} used "
            f"({session.model_name}, sha256 {sha[:12]}…)")
    if not path or not Path(path).expanduser().exists():
        raise ModelFileMoved(f"the model of session {session.id} is no longer at {path}: "
                             f"{hint}")
    try:
        checked = model_files.check_gguf(Path(path))
    except ModelError as exc:  # not a GGUF file: the user may point to the right one
        raise ModelFileMoved(str(exc)) from None
    found = model_files.sha256_of(checked)
    if found != sha:
        raise ModelFileMoved(f"{path} is not the model session {session.id} used (its sha256 "
                             f"differs: the file changed or is another one): {hint}")


def check_served_model(session: SessionRef, model: ModelInfo) -> None:
    if model.key != session.model_id:
        raise ModelError(f"the server now serves {model.key.removeprefix('openai:')}, but "
                         f"session {session.id} used {session.model_id.removeprefix('openai:')}"
                         ": pass --base-url and --api-model of the original")
