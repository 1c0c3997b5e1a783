"""Model loads that fail are stored, so a person sees later what went wrong and when."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rbyf_tui.backends import BackendOptions
from rbyf_tui.errors import ModelError, RbyfError
from rbyf_tui.store import Store

log = logging.getLogger(__name__)


def model_label(options: BackendOptions) -> str:
    """The model: its file's full path (as the models table has it), or the served model
    and its server."""
    if options.backend == "openai":
        return f"{options.api_model or 'the served model'} at {options.server}"
    return full_path(options.model) if options.model else "the demo model"


def full_path(path: str) -> str:
    try:
        return str(Path(path).expanduser().resolve())
    except (OSError, RuntimeError):  # a symlink loop, an unreadable folder
        return path


@dataclass
class LoadAttempt:
    """What is being loaded; the opening fills in the model once it knows it."""

    store: Store
    origin: str  # tui | run
    options: BackendOptions
    catalog_name: str | None = None
    session_id: str | None = None

    def _named(self) -> BackendOptions:
        """A resume that failed before its settings were read: the session's own model."""
        if self.session_id is None or self.options.model or self.options.base_url:
            return self.options
        saved = self.store.find_session(self.session_id).settings
        if saved.get("backend") == "openai":
            return BackendOptions(backend="openai", base_url=saved.get("base_url"),
                                  api_model=saved.get("api_model"))
        return BackendOptions(model=saved.get("model_path"))

    def record(self, error: ModelError) -> None:
        try:
            options = self._named()
            self.store.record_load_failure(
                model=model_label(options),
                backend="openai" if options.backend == "openai" else "llama.cpp",
                error=str(error), origin=self.origin, catalog_name=self.catalog_name,
                session_id=self.session_id)
        except RbyfError as exc:  # the failure was shown already; the DB may be the problem
            log.warning("the failed load could not be stored: %s", exc)


@contextmanager
def recorded(attempt: LoadAttempt) -> Iterator[LoadAttempt]:
    """Store a ModelError raised inside, then let it go on to be shown."""
    try:
        yield attempt
    except ModelError as exc:
        attempt.record(exc)
        raise
