"""The session screen: the catalog, the live answer, its figures, and the rating form.

Opening the session (loading a model takes seconds), generating, rating and reading the
session's task states all run in thread workers that post one message when they end; the
answer's tokens reach the screen through a LiveStream (widgets/live_stream.py), never one
message per token.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Collapsible, Footer, Input, LoadingIndicator, Markdown, Static

from rbyf_tui import resume
from rbyf_tui.backends.base import Backend, ModelInfo
from rbyf_tui.catalog import Task
from rbyf_tui.errors import ModelError, RbyfError
from rbyf_tui.opening import NewSession, Opening, ResumeSession, SessionStart, open_session
from rbyf_tui.runner import Runner
from rbyf_tui.tui import progress
from rbyf_tui.tui.compositor import RowCompositor
from rbyf_tui.tui.messages import (
    GenerationDone,
    RatingFailed,
    RatingSaved,
    SessionFailed,
    SessionOpened,
)
from rbyf_tui.tui.screens.dialogs import ConfirmQuit, ModelPathPrompt
from rbyf_tui.tui.widgets.catalog_pane import CatalogPane
from rbyf_tui.tui.widgets.live_stream import LiveStream
from rbyf_tui.tui.widgets.rating import RatingForm, ScoreBar
from rbyf_tui.tui.widgets.stats import StatsPane
from rbyf_tui.tui.widgets.stream import StreamView
from rbyf_tui.tui.widgets.thinking import ThinkingBox

if TYPE_CHECKING:
    from rbyf_tui.tui.app import RbyfApp

log = logging.getLogger(__name__)
GENERATION_STOP_S = 30.0  # a cancelled answer ends at its next token: far less than this


def decodes_on_cpu(model: ModelInfo) -> bool:
    """The model runs in this process with no layer on a GPU: the UI shares its cores."""
    return model.backend == "llama.cpp" and not model.extra.get("gpu_offload")


class SessionScreen(Screen[None]):
    # The footer shows the descriptions of the show=True ones; the command palette lists
    # them all, the tooltip as help.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("0", "score(0)", "score", key_display="0-5", tooltip="Choose score 0"),
        *(Binding(str(n), f"score({n})", f"score {n}", show=False,
                  tooltip=f"Choose score {n}") for n in range(1, 6)),
        Binding("enter", "save", "save", key_display="⏎",
                tooltip="Save the chosen score and remarks, go to the next task"),
        Binding("escape", "stop", "stop", key_display="esc",
                tooltip="Stop the running answer; the partial text is kept"),
        Binding("r", "regenerate", "regen",
                tooltip="Generate the task in view again (a new attempt)"),
        Binding("s", "skip", "skip", tooltip="Leave this task unrated and go to the next one"),
        Binding("n", "next_task", "move", key_display="n/p",
                tooltip="Show the next task's answer and figures"),
        Binding("p", "previous_task", "prev", show=False,
                tooltip="Show the previous task's answer and figures"),
        Binding("l", "leaderboard", "board", tooltip="Rank every rated model"),
        Binding("q", "quit", "quit", tooltip="Leave rbyf (asks while a generation runs)"),
        Binding("k", "toggle_thinking", "thinking", show=False,
                tooltip="Unfold or fold the model's thinking"),
        Binding("t", "toggle_prompt", "prompt", show=False,
                tooltip="Show or hide the task's prompt"),
        Binding("h", "home", "home", show=False,
                tooltip="Back to the home screen (when nothing is running)"),
        Binding("pageup", "scroll_answer(-1)", "answer up", show=False,
                tooltip="Scroll the answer up a page"),
        Binding("pagedown", "scroll_answer(1)", "answer down", show=False,
                tooltip="Scroll the answer down a page"),
    ]

    def __init__(self, start: SessionStart) -> None:
        super().__init__()
        self._compositor = RowCompositor()  # frames of a streaming answer: rows, not panes
        self.start = start
        self.runner: Runner | None = None
        self.backend: Backend | None = None  # this screen's own: closed when it is left
        self.rater: str | None = None
        self.short_id = ""  # the session's id as shown: its shortest unique prefix
        self.tasks: list[Task] = []
        self.states: progress.States = {}
        self.view = 0
        self.live: LiveStream | None = None  # the answer being written
        self.sparks: dict[str, list[float]] = {}
        self.saving = False
        self.opening = True
        self.closed = False  # left for home or the app stops: no session is kept open
        self.failed: str | None = None
        self.after_generation: str | None = None  # "advance" | "quit"
        self.stream_repaints = 0  # the benchmark reads this: drains that repainted

    @property
    def rbyf(self) -> RbyfApp:
        return self.app  # type: ignore[return-value]

    @property
    def gen_key(self) -> str | None:
        """The task whose answer is being written."""
        return self.live.key if self.live is not None else None

    @property
    def busy(self) -> bool:
        """A generation or a rating write is in flight."""
        return self.live is not None or self.saving

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
                    yield ThinkingBox(StreamView(id="thinking"), id="think-box")
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
            what = self.start.options.model or self.start.options.server or "the demo model"
        self._status(f"loading {what} …")
        self.run_worker(partial(self._open_thread, model), thread=True, group="open",
                        exit_on_error=False)

    def _loading(self, shown: bool) -> None:
        indicator = self.query_one("#loading", LoadingIndicator)
        indicator.display = shown
        # hidden, its 16 Hz animation timer would still wake the app while answers stream
        indicator.auto_refresh = 1 / 16 if shown else None

    def _open_thread(self, model: str | None) -> None:
        start = self.start
        if isinstance(start, ResumeSession) and model is not None:  # the file was moved
            start = ResumeSession(start.session_id, dataclasses.replace(start.options,
                                                                        model=model))
        config = self.rbyf.config
        opening = Opening(self.rbyf.store, "tui", rater=config.rater,
                          max_tokens=config.max_tokens, backend_factory=config.backend_factory,
                          on_backend=self._adopt, stopping=lambda: self.rbyf.stopping
                          or self.closed)
        try:
            opened = open_session(opening, start)
        except resume.ModelFileMoved as exc:  # stored; the user may point to the file
            self.post_message(SessionFailed(str(exc), ask_path=True))
        except RbyfError as exc:  # a ModelError was stored by load_failures.recorded
            self.post_message(SessionFailed(str(exc), stored=isinstance(exc, ModelError)))
        except Exception as exc:
            log.exception("opening the session failed")
            self.post_message(SessionFailed(f"internal error: {exc!r} (see the rbyf log)"))
        else:
            states, error = self._read_states(opened.runner)
            short_id = self._short_id(opened.runner)
            # Left while the model loaded (a closed screen takes no messages): let go of it.
            if self.closed or not self.post_message(SessionOpened(opened.runner, opened.rater,
                                                                  states, error, short_id)):
                self._close(opened.runner)

    def _read_states(self, runner: Runner) -> tuple[progress.States | None, str | None]:
        """The session's task states, read in the worker that just wrote (never on the UI
        thread: another process may hold the file for a while)."""
        try:
            return self.rbyf.store.task_states(runner.session_id), None
        except RbyfError as exc:
            return None, str(exc)

    def _short_id(self, runner: Runner) -> str:
        """The id as the title and the summary show it (the whole one if it cannot be read)."""
        try:
            return self.rbyf.store.short_session_id(runner.session_id)
        except RbyfError:
            return runner.session_id

    def _take_states(self, states: progress.States | None, error: str | None) -> None:
        if error is not None:  # e.g. another process held the file too long
            self.notify(f"could not read the session: {error}", severity="error")
        elif states is not None:
            self.states = states
        self.query_one(CatalogPane).update_states(self.states, self.gen_key)

    def _adopt(self, backend: Backend) -> None:
        self.backend = backend

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
        stream = self.query_one("#stream", StreamView)
        stream.display = True
        stored_note = ("\n\nThis failure is stored: the home screen shows it beside the model, "
                       "`rbyf sessions --failures` lists it.") if stored else ""
        stream.set_text(f"error: {error}{stored_note}")

    @on(SessionOpened)
    def _opened(self, message: SessionOpened) -> None:
        if self.closed:
            self._close(message.runner)
            return
        self.opening = False
        self._loading(False)
        self.runner = message.runner
        self.rater = message.rater
        self.short_id = message.short_id or message.runner.session_id
        catalog = message.runner.catalog
        self.tasks = catalog.all_tasks()
        self.query_one(RatingForm).rubric = catalog.rubric
        model = message.runner.backend.describe()
        self.query_one("#title", Static).update(
            f"rbyf · {model.name} · {catalog.name} {catalog.version} · session "
            f"{self.short_id}")
        if message.states is not None:
            self.states = message.states
        elif message.read_error is not None:
            self.notify(f"could not read the session: {message.read_error}", severity="error")
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
        stream = self.query_one("#stream", StreamView)
        answer = self.query_one("#answer", VerticalScroll)
        form = self.query_one(RatingForm)
        form.load(state.score if state else None,
                  state.remarks if state else None)
        thinking = self.query_one(ThinkingBox)
        if self.live is not None and task.key == self.live.key:
            answer.display = False
            stream.display = True
            stream.set_text(self.live.text)
            thinking.show(self.live.reasoning, *self.live.thinking())
            self._status(f"{task.title} · generating … (escape stops)")
            self._show_live()
            return
        thinking.show(state.reasoning if state else None,
                      state.reasoning_tokens if state else None,
                      state.reasoning_s if state else None)
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
        live = LiveStream(task.key, on_cpu=decodes_on_cpu(self.runner.backend.describe()),
                          show_text=partial(self._live_text, task.key),
                          show_figures=self._show_live,
                          show_reasoning=partial(self._live_reasoning, task.key))
        self.live = live
        box = self.query_one(ThinkingBox)
        box.user_toggled, box.collapsed = False, True  # each answer unfolds its own thought
        live.start(self)
        self.sparks[task.key] = []
        self.query_one(CatalogPane).update_states(self.states, task.key)
        self._view(index)
        self.run_worker(partial(self._generate_thread, self.runner, task, live),
                        thread=True, group="generate", exit_on_error=False)

    def _generate_thread(self, runner: Runner, task: Task, live: LiveStream) -> None:
        try:
            outcome = runner.run_task(task, live.cancel, live.buffer.on_text,
                                      live.buffer.on_reasoning)
        except Exception as exc:  # the store failed: the runner reports backend errors
            log.exception("generation of %s failed", task.key)
            outcome, failed = None, str(exc)
        else:
            failed = None
        finally:
            live.done.set()
        states, error = self._read_states(runner)
        self.post_message(GenerationDone(task.key, outcome, failed, states, error))

    def _live_text(self, key: str, text: str) -> None:
        if self.tasks and self.tasks[self.view].key == key:
            box = self.query_one(ThinkingBox)
            if box.display and not box.collapsed and not box.user_toggled:
                box.collapsed = True  # the answer has begun: fold the thought
            self.query_one("#stream", StreamView).append(text)
            self.stream_repaints += 1

    def _live_reasoning(self, key: str, text: str) -> None:
        """The thought streams dimmed above the answer, unfolded until the answer starts."""
        if self.tasks and self.tasks[self.view].key == key:
            box = self.query_one(ThinkingBox)
            if not box.display:
                box.display = True
                box.collapsed = box.user_toggled  # unfolded, unless k folded it
                if self.live is not None:
                    box.title_for(*self.live.thinking())
            self.query_one("#thinking", StreamView).append(text)
            self.stream_repaints += 1

    def _show_live(self, spark: bool = True) -> None:
        live = self.live
        if live is not None and self.tasks and self.tasks[self.view].key == live.key:
            rates = live.figures.rates() if spark else None
            self.query_one(StatsPane).show_live(live.figures.figures(), rates)
            if live.buffer.thought:
                self.query_one(ThinkingBox).title_for(*live.thinking())

    @on(GenerationDone)
    def _generated(self, message: GenerationDone) -> None:
        if self.live is not None:
            self.sparks[message.key] = self.live.stop()
        self.live = None
        self._take_states(message.states, message.read_error)
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
            # what the rater typed while the answer streamed is theirs: keep it for enter
            form = self.query_one(RatingForm)
            typed = (form.score, form.remarks)
            self._show()
            state = self.states.get(message.key)
            if (typed[0] is not None or typed[1]) and (state is None or state.score is None):
                form.load(*typed)

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
        self.app.push_screen(SummaryScreen(self.runner.session_id, self.tasks, self.states,
                                           catalog=self.runner.catalog.name,
                                           short_id=self.short_id))

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
        self.run_worker(partial(self._rate_thread, self.runner, task.key, state.id,
                                form.score, form.remarks),
                        thread=True, group="rate", exit_on_error=False)

    def _rate_thread(self, runner: Runner, key: str, gen_id: str, score: int,
                     remarks: str) -> None:
        try:
            self.rbyf.store.rate(gen_id, score, remarks, self.rater)
        except Exception as exc:
            log.exception("rating failed")
            self.post_message(RatingFailed(key, str(exc)))
        else:
            self.post_message(RatingSaved(key, score, *self._read_states(runner)))

    @on(RatingSaved)
    def _rated(self, message: RatingSaved) -> None:
        self.saving = False
        self._take_states(message.states, message.read_error)
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
        if self.live is not None:
            self.live.cancel.set()
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
        if self.live is not None:
            self.after_generation = "advance"
            self.live.cancel.set()
            return
        self._advance(self.view)

    def action_next_task(self) -> None:
        if self.tasks:
            self._view(min(self.view + 1, len(self.tasks) - 1))

    def action_previous_task(self) -> None:
        if self.tasks:
            self._view(max(self.view - 1, 0))

    def action_toggle_thinking(self) -> None:
        self.query_one(ThinkingBox).toggle()

    def action_toggle_prompt(self) -> None:
        box = self.query_one("#prompt-box", Collapsible)
        box.collapsed = not box.collapsed

    def action_scroll_answer(self, direction: int) -> None:
        for widget in (self.query_one("#answer", VerticalScroll),
                       self.query_one("#stream", StreamView)):
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
        self.close_session()
        self.rbyf.go_home()

    def action_quit(self) -> None:
        if self.live is not None:
            live = self.live

            def answered(yes: bool | None) -> None:
                if yes and self.live is live:
                    self.after_generation = "quit"
                    live.cancel.set()
                elif yes:
                    self.rbyf.check_stop(quit_now=True)

            self.app.push_screen(ConfirmQuit("A generation is running. Quit rbyf?"), answered)
            return
        self.rbyf.check_stop(quit_now=True)

    def stop_now(self) -> None:
        """A stop signal: cancel the running answer (the runner stores it as cancelled)."""
        if self.live is not None:
            self.live.cancel.set()

    def close_session(self) -> None:
        """Leave the session: release it for other processes and free the model (once).
        An answer still being written is cancelled and stored first: freeing the model
        under the generation thread would crash the process."""
        if self.closed:
            return
        self.closed = True
        live = self.live
        if live is not None:
            live.cancel.set()
            if not live.done.wait(GENERATION_STOP_S):
                log.warning("the answer did not stop in %.0f s: the model is left open",
                            GENERATION_STOP_S)
                return
        self._close(self.runner)

    def on_unmount(self) -> None:
        self.close_session()  # the app may end with this screen still streaming

    def _close(self, runner: Runner | None) -> None:
        if runner is not None:
            try:
                self.rbyf.store.release_session(runner.session_id)
            except RbyfError as exc:  # the pid is only a hint; nothing is lost
                log.warning("could not release session %s: %s", runner.session_id, exc)
        backend = runner.backend if runner is not None else self.backend
        if backend is not None:
            try:
                backend.close()
            except Exception:
                log.exception("closing the model failed")
