"""Opening a session, new or resumed: the one way the app and `rbyf run` both take.

Record the load attempt (load_failures), plan a resume, pick the seed, size the context,
build and load the backend, then make the Runner and claim the session. A ModelError on
the way is stored before it goes on to be shown.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass

from rbyf_tui import resume
from rbyf_tui.backends import BackendOptions, make_backend, model_path
from rbyf_tui.backends.base import Backend, ModelInfo
from rbyf_tui.catalog import Catalog
from rbyf_tui.errors import RbyfError
from rbyf_tui.load_failures import LoadAttempt, recorded
from rbyf_tui.runner import Runner
from rbyf_tui.store import Store, default_rater

# (options, n_ctx, seed) -> a backend, not loaded yet. Tests pass one that streams a script.
BackendFactory = Callable[[BackendOptions, int, int], Backend]


@dataclass(frozen=True)
class NewSession:
    options: BackendOptions
    catalog: Catalog
    comparison: tuple[str, int] | None = None  # (comparison id, the model's position)


@dataclass(frozen=True)
class ResumeSession:
    session_id: str
    options: BackendOptions  # what the user gives now (e.g. the model's new path)


SessionStart = NewSession | ResumeSession


@dataclass
class Opening:
    """How to open: who opens (tui | run), with what, and hooks for the caller."""

    store: Store
    origin: str  # tui | run
    rater: str | None = None  # None: the resumed session's rater, else default_rater()
    max_tokens: int | None = None
    backend_factory: BackendFactory = make_backend
    # Called with the backend before it loads, so the caller can close it if it must stop.
    on_backend: Callable[[Backend], None] | None = None
    on_loading: Callable[[str], None] | None = None  # "loading <model> …"
    # Asked once the model has loaded: a stop that came meanwhile ends the opening there.
    stopping: Callable[[], bool] | None = None


@dataclass(frozen=True)
class Opened:
    runner: Runner
    model: ModelInfo
    rater: str
    resumed: bool

    @property
    def backend(self) -> Backend:
        return self.runner.backend


def pick_seed(options: BackendOptions) -> int:
    """The given seed, or a random one that the session records, so runs can be repeated."""
    return options.seed if options.seed is not None else random.randrange(1 << 31)


def open_session(opening: Opening, start: SessionStart) -> Opened:
    if isinstance(start, ResumeSession):
        return _resume(opening, start)
    return _new(opening, start)


def _new(opening: Opening, start: NewSession) -> Opened:
    options, catalog = start.options, start.catalog
    attempt = LoadAttempt(opening.store, opening.origin, options, catalog.name)
    with recorded(attempt):
        if options.backend == "llama":
            options = dataclasses.replace(options, model=str(model_path(options)))
            attempt.options = options
        seed = pick_seed(options)
        n_ctx = options.n_ctx or catalog.n_ctx
        backend, model = _load(opening, options, n_ctx, seed)
    rater = opening.rater or default_rater()
    runner = Runner.new_session(
        opening.store, backend, catalog,
        settings=options.settings(n_ctx, seed, opening.max_tokens, model), rater=rater,
        origin=opening.origin, max_tokens=opening.max_tokens, seed=seed,
        comparison=start.comparison)
    return Opened(runner, model, rater, resumed=False)


def _resume(opening: Opening, start: ResumeSession) -> Opened:
    store = opening.store
    attempt = LoadAttempt(store, opening.origin, start.options, session_id=start.session_id)
    with recorded(attempt):
        attempt.session_id = store.find_session(start.session_id).id
        plan = resume.plan(store, start.session_id, start.options, opening.max_tokens)
        attempt.options, attempt.catalog_name = plan.options, plan.catalog.name
        store.check_session_free(plan.session.id)  # before a model loads for nothing
        backend, model = _load(opening, plan.options, plan.n_ctx, plan.seed)
        if plan.options.backend == "openai":
            resume.check_served_model(plan.session, model)
    runner = Runner(store, backend, plan.catalog, plan.session.id, seed=plan.seed,
                    max_tokens=plan.max_tokens)
    try:
        store.claim_session(runner.session_id)  # another process may have taken it meanwhile
    except BaseException:
        backend.close()
        raise
    rater = opening.rater or plan.session.rater or default_rater()
    return Opened(runner, model, rater, resumed=True)


def _load(opening: Opening, options: BackendOptions, n_ctx: int,
          seed: int) -> tuple[Backend, ModelInfo]:
    backend = opening.backend_factory(options, n_ctx, seed)
    if opening.on_backend is not None:
        opening.on_backend(backend)
    if opening.on_loading is not None:
        opening.on_loading(f"loading {options.model or options.server} …")
    try:
        model = backend.load()
        if opening.stopping is not None and opening.stopping():
            raise RbyfError("stopped before the session began")
    except BaseException:
        backend.close()
        raise
    return backend, model
