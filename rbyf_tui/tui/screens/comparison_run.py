"""A comparison generating in the app: each model in turn (one in memory at a time), a line
per model and task; then blind rating or battles on its answers."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static
from textual.worker import Worker, WorkerState

from rbyf_tui import comparison
from rbyf_tui.comparison import Event, ModelDone, ModelFailed, ModelStarting, TaskDone

if TYPE_CHECKING:
    from rbyf_tui.tui.app import RbyfApp


def event_line(event: Event, described: dict[int, str] | None = None) -> str:
    """One line of the log; `described`: each position's name with quantization and size."""
    if isinstance(event, ModelStarting):
        how = "resuming" if event.resumed else "loading"
        name = (described or {}).get(event.position, event.label)
        return f"model {event.position + 1}/{event.count} {name}: {how}…"
    if isinstance(event, ModelFailed):
        return f"model {event.position + 1} {event.label}: cannot load: {event.error}"
    if isinstance(event, ModelDone):
        if event.already:
            return f"model {event.position + 1} {event.label}: answered every task before"
        errors = f", {event.errors} with errors" if event.errors else ""
        return f"model {event.position + 1} {event.label}: {event.generated} answers{errors}"
    # No speed or length per answer: blind rating and battles follow, and those would
    # tell the models' answers apart (`rbyf run` prints them; the leaderboard has them).
    outcome = event.outcome
    head = f"  [{event.index}/{event.count}] {outcome.task.title[:40]:<40} {outcome.status}"
    return f"{head}  {outcome.error}" if outcome.status == "error" else head


class ComparisonRunScreen(Screen[None]):
    """Generates the comparison's missing answers; escape stops it, the answer in progress
    kept as cancelled (go on later from the home screen)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop_or_back", "stop / back", key_display="esc",
                tooltip="Stop generating (what is answered is kept), or go back"),
        Binding("b", "blind", "blind rating", tooltip="Rate the answers blind (when done)"),
        Binding("v", "battle", "battles", tooltip="Vote on pairs of answers (when done)"),
    ]

    def __init__(self, comparison_id: str) -> None:
        super().__init__()
        self.comparison_id = comparison_id
        self.stop = threading.Event()
        self.running = False
        self.catalog = ""
        self.model_ids: list[str] = []  # the comparison's models, once generated
        self.described: dict[int, str] = {}

    @property
    def rbyf(self) -> RbyfApp:
        return self.app  # type: ignore[return-value]

    @property
    def busy(self) -> bool:
        """An answer may be streaming into the store (the app waits before it exits)."""
        return self.running

    def compose(self) -> ComposeResult:
        yield Static("Comparison · starting…", id="run-title")
        yield RichLog(id="run-log", wrap=True, markup=False)
        yield Static("esc stops (the answer in progress is kept as cancelled; go on from home)",
                     id="run-help")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.running = True
        self.generate()

    @work(thread=True, exclusive=True, group="comparison-run", exit_on_error=False)
    def generate(self) -> int:
        config = self.rbyf.config
        store = self.rbyf.store
        row = store.comparison(self.comparison_id)
        self.catalog = row.catalog_name
        self.described = {m.position: comparison.member_description(m) for m in row.members}
        self.app.call_from_thread(self.query_one("#run-title", Static).update,
                                  f"Comparison {self.comparison_id[:8]} · {row.catalog_name}"
                                  f" · {len(row.members)} models · seed {row.seed}")
        failed = comparison.run_comparison(
            store, self.comparison_id, on_event=self.post_event, max_tokens=config.max_tokens,
            rater=config.rater, origin="tui", backend_factory=config.backend_factory,
            stop=self.stop)
        self.model_ids = [m.model_id for m in store.comparison(self.comparison_id).members
                          if m.model_id is not None]
        return failed

    def post_event(self, event: Event) -> None:
        """From the generation thread: one line on the log."""
        if not self.stop.is_set() or isinstance(event, ModelDone | TaskDone):
            self.app.call_from_thread(self.query_one("#run-log", RichLog).write,
                                      event_line(event, self.described))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "comparison-run" or not event.worker.is_finished:
            return
        self.running = False
        log = self.query_one("#run-log", RichLog)
        if event.state == WorkerState.ERROR:
            log.write(f"stopped: {event.worker.error}")
        elif self.stop.is_set():
            log.write("stopped: every finished answer is kept; go on from the home screen")
        else:
            failed = event.worker.result or 0
            log.write("done" + (f": {failed} model(s) could not load" if failed else "")
                      + " · b rates the answers blind · v votes on battles")
        self.query_one("#run-help", Static).update(
            "b blind rating · v battles · esc back")
        self.rbyf.check_stop()

    # --- the app's stop protocol (as the session screen's) ------------------------------

    def stop_now(self) -> None:
        self.stop.set()

    def close_session(self) -> None:
        self.stop.set()

    # --- keys -------------------------------------------------------------------------

    def action_stop_or_back(self) -> None:
        if self.running:
            self.stop.set()
            self.query_one("#run-log", RichLog).write(
                "stopping after the answer in progress…")
            return
        self.rbyf.go_home()

    def action_blind(self) -> None:
        if self.running:
            self.notify("Still generating: blind rating opens when every model answered.")
            return
        from rbyf_tui.tui.screens.blind import BlindScreen

        # In place of this screen: its log says which model answered what.
        self.app.switch_screen(BlindScreen(self.comparison_id, self.rbyf.config.rater))

    def action_battle(self) -> None:
        if self.running:
            self.notify("Still generating: battles open when every model answered.")
            return
        from rbyf_tui.tui.screens.battle import BattleScreen

        if len(self.model_ids) < 2:
            self.notify("Fewer than two models answered: no battles here.", severity="warning")
            return
        self.app.switch_screen(BattleScreen(self.catalog, self.rbyf.config.rater,
                                            self.model_ids))
