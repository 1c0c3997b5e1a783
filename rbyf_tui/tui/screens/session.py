"""The session screen: the catalog, the live answer, its figures, and the rating form.

Generation runs in a thread worker that only appends tokens to a `TokenBuffer`; a UI timer
drains the buffer and repaints the stream once per drain: 20 times a second when the model
runs elsewhere (a server, a GPU), 5 times a second when it decodes on this machine's CPU
cores, where every frame Textual paints (a few ms of CPU) is taken from the model's own
threads (benchmarks/stream_overhead.py). One message arrives when the answer ends (it is
already committed by the runner then).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Collapsible, Footer, Input, LoadingIndicator, Markdown, Static

from rbyf_tui import resume
from rbyf_tui.backends import BackendOptions, model_path
from rbyf_tui.backends.base import ModelInfo
from rbyf_tui.catalog import Task
from rbyf_tui.commands.common import pick_seed
from rbyf_tui.errors import ModelError, RbyfError
from rbyf_tui.load_failures import LoadAttempt, recorded
from rbyf_tui.runner import Runner
from rbyf_tui.tui import progress
from rbyf_tui.tui.config import NewSession, ResumeSession, SessionStart
from rbyf_tui.tui.messages import (
    GenerationDone,
    RatingFailed,
    RatingSaved,
    SessionFailed,
    SessionOpened,
)
from rbyf_tui.tui.screens.dialogs import ConfirmQuit, ModelPathPrompt
from rbyf_tui.tui.widgets.catalog_pane import CatalogPane
from rbyf_tui.tui.widgets.rating import RatingForm, ScoreBar
from rbyf_tui.tui.widgets.stats import LiveFigures, StatsPane
from rbyf_tui.tui.widgets.stream import StreamView

if TYPE_CHECKING:
    from rbyf_tui.tui.app import RbyfApp

log = logging.getLogger(__name__)
# Repaints a second while an answer streams. When the model decodes on this machine's CPU,
# every frame Textual draws takes a core away from the decoder (and holds the GIL its
# thread needs between tokens): there the text moves in fewer, bigger steps, and a repaint
# waits while the UI thread has used more than CPU_UI_SHARE of the time since the last
# one (at most CPU_MAX_GAP_S), so a slow machine gets fewer frames, not a slower model.
DRAIN_HZ = 20
CPU_DRAIN_HZ = 4
CPU_UI_SHARE = 0.02
CPU_MAX_GAP_S = 1.0
# Characters shown per tick at most: a source faster than any model (a scripted one in the
# ingest benchmark, ~1M tokens/s) would otherwise make one tick wrap megabytes and freeze
# the keys; the rest waits for the next tick (this still shows ~1M characters a second).
DRAIN_CHARS = 32_768
STATS_S = 0.2  # seconds between figure updates while streaming
CPU_STATS_S = 1.0


def decodes_on_cpu(model: ModelInfo) -> bool:
    """The model runs in this process with no layer on a GPU: the UI shares its cores."""
    return model.backend == "llama.cpp" and not model.extra.get("n_gpu_layers")


class CpuPacer:
    """Allows a repaint while this thread's CPU time since the last one is within `share`
    of the wall time since then, or once `max_gap_s` has passed."""

    def __init__(self, share: float, max_gap_s: float) -> None:
        self.share = share
        self.max_gap_s = max_gap_s
        self.reset()

    def reset(self) -> None:
        self.cpu, self.wall = time.thread_time(), time.perf_counter()

    def allows(self) -> bool:
        cpu, wall = time.thread_time(), time.perf_counter()
        gap = wall - self.wall
        if cpu - self.cpu > self.share * gap and gap < self.max_gap_s:
            return False
        self.cpu, self.wall = cpu, wall
        return True


class TokenBuffer:
    """Filled by the generation thread, emptied by the UI timer. Never blocks for long."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None

    def on_text(self, text: str) -> None:
        now = time.perf_counter()
        with self._lock:
            self._parts.append(text)
            self.count += 1
            if self.first is None:
                self.first = now
            self.last = now

    def drain(self) -> tuple[str, int, float | None, float | None]:
        with self._lock:
            parts, self._parts = self._parts, []
            return "".join(parts), self.count, self.first, self.last


class SessionScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("0", "score(0)", "score", key_display="0-5"),
        *(Binding(str(n), f"score({n})", f"score {n}", show=False) for n in range(1, 6)),
        Binding("enter", "save", "save", key_display="⏎"),
        Binding("escape", "stop", "stop", key_display="esc"),
        Binding("r", "regenerate", "regen"),
        Binding("s", "skip", "skip"),
        Binding("n", "next_task", "move", key_display="n/p"),
        Binding("p", "previous_task", "prev", show=False),
        Binding("l", "leaderboard", "board"),
        Binding("q", "quit", "quit"),
        Binding("t", "toggle_prompt", "prompt", show=False),
        Binding("pageup", "scroll_answer(-1)", "answer up", show=False),
        Binding("pagedown", "scroll_answer(1)", "answer down", show=False),
    ]
    PALETTE: ClassVar[list[tuple[str, str, str]]] = [
        ("Save rating", "Save the chosen score and remarks, go to the next task", "save"),
        ("Stop generation", "Stop the running answer; the partial text is kept", "stop"),
        ("Regenerate", "Generate the task in view again (a new attempt)", "regenerate"),
        ("Skip task", "Leave this task unrated and go to the next one", "skip"),
        ("Next task", "Show the next task's answer and figures", "next_task"),
        ("Previous task", "Show the previous task's answer and figures", "previous_task"),
        ("Leaderboard", "Rank every rated model", "leaderboard"),
        ("Toggle prompt", "Show or hide the task's prompt", "toggle_prompt"),
        ("Home", "Back to the home screen (when nothing is running)", "home"),
        ("Quit", "Leave rbyf (asks while a generation runs)", "quit"),
        *((f"Score {n}", f"Choose score {n}", f"score({n})") for n in range(6)),
    ]

    def __init__(self, start: SessionStart) -> None:
        super().__init__()
        self.start = start
        self.runner: Runner | None = None
        self.rater: str | None = None
        self.tasks: list[Task] = []
        self.states: progress.States = {}
        self.view = 0
        self.gen_key: str | None = None
        self.cancel: threading.Event | None = None
        self.buffer = TokenBuffer()
        self.live: LiveFigures | None = None
        self.live_chunks: list[str] = []
        self._backlog = ""  # drained but not yet shown (see DRAIN_CHARS)
        self.sparks: dict[str, list[float]] = {}
        self.saving = False
        self.opening = True
        self.failed: str | None = None
        self.after_generation: str | None = None  # "advance" | "quit"
        self.stream_repaints = 0  # the benchmark reads this: drains that repainted
        self._ticks = 0
        self._ticker: Timer | None = None  # runs only while an answer streams
        self._pacer: CpuPacer | None = None  # while the CPU decodes
        self._shown = False  # this answer's first text is on the screen
        self._stats_at = 0.0

    @property
    def rbyf(self) -> RbyfApp:
        return self.app  # type: ignore[return-value]

    @property
    def busy(self) -> bool:
        """A generation or a rating write is in flight."""
        return self.gen_key is not None or self.saving

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("rbyf · loading", id="title")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield CatalogPane(id="catalog")
                yield StatsPane(id="stats")
            with Vertical(id="right"):
                with Vertical(id="stream-pane"):
                    yield Static("", id="status")
                    with (Collapsible(title="prompt (t)", collapsed=True, id="prompt-box"),
                          VerticalScroll(id="prompt-scroll")):
                        yield Static("", id="prompt", markup=False)
                    yield LoadingIndicator(id="loading")
                    yield StreamView(id="stream")
                    with VerticalScroll(id="answer"):
                        yield Markdown("", id="answer-md")
                yield RatingForm(id="form")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#catalog").border_title = "tasks"
        self.query_one("#stats").border_title = "figures"
        self.query_one("#stream-pane").border_title = "answer"
        self.query_one("#form").border_title = "rating"
        self.query_one("#answer").display = False
        self.query_one("#stream").display = False
        self._open()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "-narrow")
        self.set_class(self.size.height < 30, "-short")

    # --- opening the session (a worker: loading a model takes seconds) ------------------

    def _open(self, model: str | None = None) -> None:
        self.opening = True
        self._loading(True)
        what = "the model"
        if isinstance(self.start, NewSession):
            what = self.start.options.model or self.start.options.base_url or "the demo model"
        self._status(f"loading {what} …")
        self.run_worker(partial(self._open_thread, model), thread=True, group="open",
                        exit_on_error=False)

    def _loading(self, shown: bool) -> None:
        indicator = self.query_one("#loading", LoadingIndicator)
        indicator.display = shown
        # hidden, its 16 Hz animation timer would still wake the app while answers stream
        indicator.auto_refresh = 1 / 16 if shown else None

    def _open_thread(self, model: str | None) -> None:
        try:
            runner, rater = self._make_runner(model)
        except _AskPath as exc:
            self.post_message(SessionFailed(str(exc), ask_path=True))
        except RbyfError as exc:  # a ModelError was stored by load_failures.recorded
            self.post_message(SessionFailed(str(exc), stored=isinstance(exc, ModelError)))
        except Exception as exc:
            log.exception("opening the session failed")
            self.post_message(SessionFailed(f"internal error: {exc!r} (see the rbyf log)"))
        else:
            self.post_message(SessionOpened(runner, rater))

    def _make_runner(self, model: str | None) -> tuple[Runner, str | None]:
        start = self.start
        if isinstance(start, ResumeSession):
            given = start.options if model is None else dataclasses.replace(
                start.options, model=model)
            attempt = LoadAttempt(self.rbyf.store, "tui", given, session_id=start.session_id)
            with recorded(attempt):
                return self._resume_runner(start.session_id, given, attempt)
        attempt = LoadAttempt(self.rbyf.store, "tui", start.options, start.catalog.name)
        with recorded(attempt):
            return self._new_runner(start, attempt)

    def _resume_runner(self, session_id: str, given: BackendOptions,
                       attempt: LoadAttempt) -> tuple[Runner, str | None]:
        config = self.rbyf.config
        store = self.rbyf.store
        try:
            plan = resume.plan(store, session_id, given, config.max_tokens)
        except ModelError as exc:
            raise _AskPath(str(exc)) from None
        attempt.options, attempt.catalog_name = plan.options, plan.catalog.name
        backend = config.backend_factory(plan.options, plan.n_ctx, plan.seed)
        self.rbyf.track_backend(backend)
        info = backend.load()
        if plan.options.backend == "openai":
            resume.check_served_model(plan.session, info)
        runner = Runner(store, backend, plan.catalog, plan.session.id, seed=plan.seed,
                        max_tokens=plan.max_tokens)
        store.claim_session(runner.session_id)
        return runner, config.rater or plan.session.rater

    def _new_runner(self, start: NewSession, attempt: LoadAttempt) -> tuple[Runner, str | None]:
        config = self.rbyf.config
        catalog = start.catalog
        options = start.options
        if options.backend == "llama":
            options = dataclasses.replace(options, model=str(model_path(options)))
            attempt.options = options
        seed = pick_seed(options)
        n_ctx = options.n_ctx or catalog.n_ctx
        backend = config.backend_factory(options, n_ctx, seed)
        self.rbyf.track_backend(backend)
        info = backend.load()
        from rbyf_tui.store import default_rater

        if self.rbyf.stopping:  # stopped while the model loaded
            raise RbyfError("stopped before the session began")
        rater = config.rater or default_rater()
        runner = Runner.new_session(
            self.rbyf.store, backend, catalog,
            settings=options.settings(n_ctx, seed, config.max_tokens, info), rater=rater,
            origin="tui", max_tokens=config.max_tokens, seed=seed)
        return runner, rater

    @on(SessionFailed)
    def _failed(self, message: SessionFailed) -> None:
        self.opening = False
        self._loading(False)
        if message.ask_path:
            self._status(message.error, error=True)
            self.app.push_screen(ModelPathPrompt(message.error),
                                 partial(self._path_given, message.error))
            return
        self._show_failure(message.error, message.stored)
        self.rbyf.check_stop()

    def _path_given(self, error: str, path: str | None) -> None:
        if path:
            self._open(path)
        else:
            self._show_failure(error, stored=True)

    def _show_failure(self, error: str, stored: bool) -> None:
        """The whole error in the answer pane (a long one would not fit the status line)."""
        self.failed = error
        self._status("could not open the session · escape: home", error=True)
        self.query_one("#title", Static).update("rbyf · no session")
        self.query_one("#prompt-box").display = False
        stream = self.query_one(StreamView)
        stream.display = True
        stored_note = ("\n\nThis failure is stored: the home screen shows it beside the model, "
                       "`rbyf sessions --failures` lists it.") if stored else ""
        stream.set_text(f"error: {error}{stored_note}")

    @on(SessionOpened)
    def _opened(self, message: SessionOpened) -> None:
        self.opening = False
        self._loading(False)
        self.runner = message.runner
        self.rater = message.rater
        self.rbyf.track_runner(message.runner)
        catalog = message.runner.catalog
        self.tasks = catalog.all_tasks()
        self.query_one(RatingForm).rubric = catalog.rubric
        model = message.runner.backend.describe()
        self.query_one("#title", Static).update(
            f"rbyf · {model.name} · {catalog.name} {catalog.version} · session "
            f"{message.runner.session_id}")
        self._reload_states()
        self.query_one(CatalogPane).set_tasks(self.tasks, self.states, None)
        if self.rbyf.stopping:
            self.rbyf.check_stop()
            return
        start = progress.first_todo(self.tasks, self.states)
        if start is None:
            self._finish()
            return
        self._go(start)
        self.query_one(ScoreBar).focus()

    # --- moving through the catalog ------------------------------------------------------

    def _reload_states(self) -> None:
        if self.runner is not None:
            try:
                self.states = self.rbyf.store.task_states(self.runner.session_id)
            except RbyfError as exc:  # e.g. another process held the file too long
                self.notify(f"could not read the session: {exc}", severity="error")

    def _go(self, index: int) -> None:
        """Show a task; generate it when it has no answer and nothing else is running."""
        self._view(index)
        task = self.tasks[index]
        state = self.states.get(task.key)
        needs = not progress.is_rated(state) and not progress.has_answer(state)
        if needs and self.gen_key is None and task.key != self.gen_key:
            self._generate(index)

    def _view(self, index: int) -> None:
        self.view = index
        pane = self.query_one(CatalogPane)
        if pane.highlighted != index:
            pane.highlighted = index
        self._show()

    def _show(self) -> None:
        """The task in view: its prompt, its answer (live or stored), figures, rating."""
        if not self.tasks:
            return
        task = self.tasks[self.view]
        state = self.states.get(task.key)
        self.query_one("#prompt", Static).update(task.prompt)
        box = self.query_one("#prompt-box", Collapsible)
        box.title = f"prompt: {task.title} (t)"
        stream = self.query_one(StreamView)
        answer = self.query_one("#answer", VerticalScroll)
        form = self.query_one(RatingForm)
        form.load(state.score if state else None,
                  state.remarks if state else None)
        if task.key == self.gen_key:
            answer.display = False
            stream.display = True
            stream.set_text("".join(self.live_chunks))
            self._status(f"{task.title} · generating … (escape stops)")
            self._show_live()
            return
        if state is None:
            answer.display = False
            stream.display = True
            stream.set_text("")
            hint = "r generates it" if self.gen_key is None else "waiting for the running answer"
            self._status(f"{task.title} · pending · {hint}")
            self.query_one(StatsPane).show({})
            return
        attempt = f"attempt {state.attempts or 1}"
        label = progress.state_label(state)
        if state.status == "ok":
            stream.display = False
            stream.set_text("")
            answer.display = True
            self.query_one("#answer-md", Markdown).update(state.response or "")
            answer.scroll_home(animate=False)
            self._status(f"{task.title} · {label} · {attempt}")
        else:
            answer.display = False
            stream.display = True
            stream.set_text(state.response or "")
            error = state.error
            text = f"{task.title} · {label} · {attempt}"
            if error:
                text += f" · error: {error}"
            self._status(text, error=bool(error))
        self.query_one(StatsPane).show(state.figures(), self.sparks.get(task.key))

    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(text)
        status.set_class(error, "error")

    @on(CatalogPane.OptionHighlighted)
    def _highlighted(self, event: CatalogPane.OptionHighlighted) -> None:
        if event.option_index != self.view and self.tasks:
            self.view = event.option_index
            self._show()

    # --- generation ------------------------------------------------------------------------

    def _generate(self, index: int) -> None:
        assert self.runner is not None
        task = self.tasks[index]
        self.gen_key = task.key
        self.cancel = threading.Event()
        self.buffer = TokenBuffer()
        self.live = LiveFigures(started=time.perf_counter())
        self.live_chunks = []
        self._backlog = ""
        on_cpu = decodes_on_cpu(self.runner.backend.describe())
        self._pacer = CpuPacer(CPU_UI_SHARE, CPU_MAX_GAP_S) if on_cpu else None
        self._shown = False
        self._stats_at = time.perf_counter()
        self._ticker = self.set_interval(1 / (CPU_DRAIN_HZ if on_cpu else DRAIN_HZ), self._drain)
        self.sparks[task.key] = []
        self.query_one(CatalogPane).update_states(self.states, self.gen_key)
        self._view(index)
        self.run_worker(partial(self._generate_thread, self.runner, task, self.cancel,
                                self.buffer), thread=True, group="generate", exit_on_error=False)

    def _generate_thread(self, runner: Runner, task: Task, cancel: threading.Event,
                         buffer: TokenBuffer) -> None:
        try:
            outcome = runner.run_task(task, cancel, buffer.on_text)
        except Exception as exc:  # the store failed: the runner reports backend errors
            log.exception("generation of %s failed", task.key)
            self.post_message(GenerationDone(task.key, None, str(exc)))
        else:
            self.post_message(GenerationDone(task.key, outcome))

    def _drain(self, force: bool = False) -> None:
        """The UI timer: move buffered tokens to the screen, one repaint per tick."""
        if self.gen_key is None or self.live is None:
            return
        pacer = self._pacer
        if pacer is not None and self._shown and not force and not pacer.allows():
            return
        self._ticks += 1
        text, count, first, last = self.buffer.drain()
        self.live.add(count, first, last)
        if text or self._backlog:
            text = self._backlog + text
            text, self._backlog = text[:DRAIN_CHARS], text[DRAIN_CHARS:]
            self.live_chunks.append(text)
            if self.tasks and self.tasks[self.view].key == self.gen_key:
                self.query_one(StreamView).append(text)
                self.stream_repaints += 1
            if not self._shown and pacer is not None:
                pacer.reset()  # the first text shows at once; pacing starts from it
            self._shown = True
        if time.perf_counter() - self._stats_at >= (STATS_S if pacer is None else CPU_STATS_S):
            self._stats_at = time.perf_counter()
            self._show_live()

    def _show_live(self) -> None:
        if self.live is not None and self.tasks and self.tasks[self.view].key == self.gen_key:
            self.query_one(StatsPane).show(self.live.figures(), self.live.rates())

    @on(GenerationDone)
    def _generated(self, message: GenerationDone) -> None:
        self._drain(force=True)
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        live = self.live
        self.gen_key = None
        self.cancel = None
        self.live = None
        if live is not None:
            self.sparks[message.key] = live.rates()
        self._reload_states()
        self.query_one(CatalogPane).update_states(self.states, None)
        if message.error:
            self.notify(f"could not save the answer: {message.error}", severity="error")
        follow = self.after_generation
        self.after_generation = None
        if self.rbyf.stopping or follow == "quit":
            self.rbyf.check_stop(quit_now=follow == "quit")
            return
        if follow == "advance":
            self._advance(self._index_of(message.key))
            return
        if self.tasks[self.view].key == message.key:
            self._show()

    def _index_of(self, key: str) -> int:
        return next(i for i, t in enumerate(self.tasks) if t.key == key)

    def _advance(self, after: int) -> None:
        """To the next unrated task (answered ones are shown, the others generated)."""
        index = progress.next_todo(self.tasks, self.states, after)
        if index is None:
            self._finish()
            return
        self._go(index)

    def _finish(self) -> None:
        from rbyf_tui.tui.screens.summary import SummaryScreen

        assert self.runner is not None
        self._reload_states()
        self.app.push_screen(SummaryScreen(self.runner.session_id, self.tasks, self.states,
                                          catalog=self.runner.catalog.name))

    # --- actions ---------------------------------------------------------------------------

    def _ready(self) -> bool:
        if self.runner is None:
            self.notify("the session is not open yet", severity="warning")
            return False
        return True

    def action_score(self, score: int) -> None:
        self.query_one(RatingForm).score = score

    @on(Input.Submitted, "#remarks")
    def _remarks_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        if not self._ready() or self.saving:
            return
        task = self.tasks[self.view]
        if task.key == self.gen_key:
            self.notify("the answer is still being written: wait, or escape to stop it",
                        severity="warning")
            return
        form = self.query_one(RatingForm)
        state = self.states.get(task.key)
        if form.score is None:
            if task.is_warmup:  # its rating is optional
                self._advance(self.view)
            else:
                self.notify("choose a score 0–5 first", severity="warning")
            return
        if not state or state.status not in progress.RATEABLE:
            self.notify("no answer to rate: r generates one", severity="warning")
            return
        self.saving = True
        self._status(f"{task.title} · saving the rating …")
        self.run_worker(partial(self._rate_thread, task.key, state.id, form.score,
                                form.remarks), thread=True, group="rate", exit_on_error=False)

    def _rate_thread(self, key: str, gen_id: str, score: int, remarks: str) -> None:
        try:
            self.rbyf.store.rate(gen_id, score, remarks, self.rater)
        except Exception as exc:
            log.exception("rating failed")
            self.post_message(RatingFailed(key, str(exc)))
        else:
            self.post_message(RatingSaved(key, score))

    @on(RatingSaved)
    def _rated(self, message: RatingSaved) -> None:
        self.saving = False
        self._reload_states()
        self.query_one(CatalogPane).update_states(self.states, self.gen_key)
        if self.rbyf.stopping:
            self.rbyf.check_stop()
            return
        self.query_one(ScoreBar).focus()
        self._advance(self._index_of(message.key))

    @on(RatingFailed)
    def _rating_failed(self, message: RatingFailed) -> None:
        self.saving = False
        self.notify(f"the rating was not saved: {message.error}", severity="error")
        self._show()
        self.rbyf.check_stop()

    def action_stop(self) -> None:
        if self.cancel is not None:
            self.cancel.set()
            self._status(f"{self.tasks[self.view].title} · stopping …")
        elif self.failed is not None or (self.runner is None and not self.opening):
            self.action_home()

    def action_regenerate(self) -> None:
        if not self._ready():
            return
        if self.gen_key is not None:
            self.notify("a generation is running: escape stops it first", severity="warning")
            return
        self._generate(self.view)

    def action_skip(self) -> None:
        if not self._ready():
            return
        if self.gen_key is not None:
            self.after_generation = "advance"
            assert self.cancel is not None
            self.cancel.set()
            return
        self._advance(self.view)

    def action_next_task(self) -> None:
        if self.tasks:
            self._view(min(self.view + 1, len(self.tasks) - 1))

    def action_previous_task(self) -> None:
        if self.tasks:
            self._view(max(self.view - 1, 0))

    def action_toggle_prompt(self) -> None:
        box = self.query_one("#prompt-box", Collapsible)
        box.collapsed = not box.collapsed

    def action_scroll_answer(self, direction: int) -> None:
        for widget in (self.query_one("#answer", VerticalScroll), self.query_one(StreamView)):
            if widget.display:
                if direction < 0:
                    widget.scroll_page_up(animate=False)
                else:
                    widget.scroll_page_down(animate=False)

    def action_leaderboard(self) -> None:
        catalog = self.runner.catalog.name if self.runner else None
        self.rbyf.open_leaderboard(catalog)

    def action_home(self) -> None:
        if self.busy:
            self.notify("a generation or rating is in flight: wait or escape", severity="warning")
            return
        self.rbyf.go_home(self)

    def action_quit(self) -> None:
        if self.gen_key is not None:
            def answered(yes: bool | None) -> None:
                if yes and self.cancel is not None:
                    self.after_generation = "quit"
                    self.cancel.set()
                elif yes:
                    self.rbyf.check_stop(quit_now=True)

            self.app.push_screen(ConfirmQuit("A generation is running. Quit rbyf?"), answered)
            return
        self.rbyf.check_stop(quit_now=True)

    def stop_now(self) -> None:
        """A stop signal: cancel the running answer (the runner stores it as cancelled)."""
        if self.cancel is not None:
            self.cancel.set()


class _AskPath(ModelError):
    """resume.plan refused the model file: the user may point to the right one."""

