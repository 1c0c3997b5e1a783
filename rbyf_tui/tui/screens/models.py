"""Every model found, with all its facts: filtered as you type, sorted, picked for home."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from rbyf_tui import discovery
from rbyf_tui.discovery import FoundModel
from rbyf_tui.errors import RbyfError
from rbyf_tui.load_failures import full_path
from rbyf_tui.store import Store
from rbyf_tui.tui import model_text
from rbyf_tui.tui.widgets.facts_table import Column, FactsTable

if TYPE_CHECKING:
    from rbyf_tui.tui.app import RbyfApp

log = logging.getLogger(__name__)

# In this order they give way when the screen is narrow (80 columns: the last three; the
# line below the table has them for the model under the cursor).
COLUMNS = [
    Column("name", "name", lambda m: m.name, most=200),
    Column("quant", "quant", lambda m: m.facts.quantization or "", most=9),
    Column("params", "params", lambda m: model_text.count(m.facts.parameters), right=True),
    Column("size", "size", lambda m: model_text.size(m.size_bytes), right=True),
    Column("score", "score", lambda m: model_text.score(m.mean_score), right=True),
    Column("used", "used", lambda m: model_text.day(m.last_used)),
    Column("sessions", "sess", lambda m: str(m.sessions or ""), right=True),
    Column("ctx", "ctx", lambda m: model_text.context(m.facts.context_length), right=True),
    Column("template", "tmpl", lambda m: "yes" if m.facts.chat_template else "no"),
    Column("arch", "arch", lambda m: m.facts.architecture or "", most=10),
    Column("source", "source", lambda m: m.source, most=8),
]
SORT_MARKS = {"name": " ↑", "size": " ↓", "used": " ↓", "score": " ↓"}
SORT_WORDS = {"name": "name", "size": "size", "used": "last used", "score": "score"}


def list_models(store: Store) -> tuple[list[FoundModel], str | None]:
    """Every model found (in a worker: it reads files), or none and why; home's sessions
    show either way."""
    try:
        return discovery.find_models(store if store.path.exists() else None), None
    except Exception as exc:  # one place's failure must not hide the rest of home
        log.exception("listing the models failed")
        return [], str(exc) or type(exc).__name__


def nothing_found() -> str:
    from rbyf_tui import model_places

    try:
        looked = "\n".join(f"  {model_text.where(p)}" for p in model_places.places())
    except RbyfError as exc:  # a models.toml that does not read
        looked = f"  (the folders you listed: {exc})"
    return (f"No model files found. rbyf looked in:\n{looked}\n\n"
            "Add your own folders with RBYF_MODELS=DIR1:DIR2, or in "
            f"{model_text.where(model_places.folders_file())}:\n"
            '  folders = ["~/models"]\n'
            "Or press p to pull a GGUF from the Hugging Face Hub.")


class ModelsScreen(Screen[FoundModel | None]):
    """The models home lists, with every fact; enter returns the one under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "pick", "pick", tooltip="Choose the model under the cursor, back home"),
        Binding("slash", "filter", "filter", tooltip="Type words that every model shown has"),
        Binding("s", "sort", "sort", tooltip="Sort by name, size, last used or score, in turn"),
        Binding("p", "pull", "pull", tooltip="Download a GGUF model from the Hugging Face Hub"),
        Binding("escape", "back", "back", tooltip="Back home (from the filter: to the list)"),
        # the filter keeps these keys for the list, so typing and moving go together
        Binding("down", "move('down')", show=False),
        Binding("up", "move('up')", show=False),
        Binding("pagedown", "move('page_down')", show=False),
        Binding("pageup", "move('page_up')", show=False),
    ]

    def __init__(self, found: list[FoundModel] | None = None, chosen: str | None = None,
                 sort: str = "name") -> None:
        super().__init__()
        self.found = found or []
        self.reading = found is None
        self.chosen = chosen  # the path home has chosen: the cursor starts there
        self.sort = sort
        self.filter = ""
        self.error: str | None = None

    @property
    def rbyf(self) -> RbyfApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="title", markup=False)
        yield Input(placeholder="/ filter: words the model's name, arch, quant or source has",
                    id="models-filter", compact=True)
        yield FactsTable(COLUMNS, least=24, id="model-table")
        yield Static(id="models-none", markup=False)
        yield Static(id="model-facts", markup=False)
        yield Static(id="model-path", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#model-table").focus()
        if self.reading:
            self._read()
        self._show(cursor=self.chosen)

    # --- reading ------------------------------------------------------------------------

    def _read(self, then: str | None = None) -> None:
        self.reading = True
        self._show()
        self._find(then)

    @work(thread=True, exclusive=True, group="models-read", exit_on_error=False)
    def _find(self, then: str | None) -> tuple[list[FoundModel], str | None, str | None]:
        return (*list_models(self.rbyf.store), then)

    @on(Worker.StateChanged)
    def _found(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "models-read" or not event.worker.is_finished:
            return
        self.reading = False
        then = None
        if event.state == WorkerState.SUCCESS:
            self.found, self.error, then = event.worker.result
        else:
            self.error = str(event.worker.error)
        if then is not None:  # a model just pulled: the cursor on it
            then = next((str(m.path) for m in self.found
                         if full_path(str(m.path)) == full_path(then)), None)
            self.query_one("#models-filter", Input).clear()
            self.filter = ""
        self._show(cursor=then)
        if then is not None:
            self.query_one("#model-table").focus()

    # --- the table ----------------------------------------------------------------------

    def _show(self, cursor: str | None = None) -> None:
        table = self.query_one("#model-table", FactsTable)
        table.marks = {self.sort: SORT_MARKS[self.sort]}
        models = [m for m in discovery.sort_models(self.found, self.sort)
                  if discovery.matches(m, self.filter)]
        table.show([(str(m.path), m) for m in models], cursor=cursor)
        count = (f"{len(models)} of {len(self.found)}" if self.filter
                 else str(len(self.found)))
        state = "reading…" if self.reading else f"{count} found"
        self.query_one("#title", Static).update(
            f"models · {state} · sorted by {SORT_WORDS[self.sort]} · enter picks")
        none = self.query_one("#models-none", Static)
        none.display = not models and not self.reading
        if self.error is not None:
            none.update(f"could not list the models: {self.error}")
        elif self.found:
            none.update(f"nothing matches {self.filter!r}: escape, then / to change it")
        else:
            none.update(nothing_found())
        table.display = bool(models) or self.reading
        self._show_facts()

    @on(DataTable.RowHighlighted)
    def _show_facts(self) -> None:
        model = self.query_one("#model-table", FactsTable).current()
        facts = self.query_one("#model-facts", Static)
        path = self.query_one("#model-path", Static)
        if isinstance(model, FoundModel):
            facts.update(Text.assemble((model.name, "bold"), " · ",
                                       model_text.facts_line(model)))
            path.update(model_text.where(model.path))
        else:
            facts.update("")
            path.update("")

    @on(Input.Changed, "#models-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if event.value.strip() != self.filter:
            self.filter = event.value.strip()
            self._show()

    # --- keys ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # while the filter has the keys, typed letters are words, not commands
        if action in ("filter", "sort", "pull"):
            return not isinstance(self.focused, Input)
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def action_move(self, where: str) -> None:
        table = self.query_one("#model-table", FactsTable)
        getattr(table, f"action_{'cursor_' if where in ('up', 'down') else ''}{where}")()

    def action_filter(self) -> None:
        self.query_one("#models-filter").focus()

    def action_sort(self) -> None:
        keys = discovery.SORT_KEYS
        self.sort = keys[(keys.index(self.sort) + 1) % len(keys)]
        self._show()

    @on(DataTable.RowSelected)
    @on(Input.Submitted, "#models-filter")
    def action_pick(self) -> None:
        model = self.query_one("#model-table", FactsTable).current()
        if isinstance(model, FoundModel):
            self.dismiss(model)

    def action_back(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#model-table").focus()
            return
        self.dismiss(None)

    def action_pull(self) -> None:
        from rbyf_tui.tui.screens.pull import PullDialog

        self.app.push_screen(PullDialog(), self._pulled)

    def _pulled(self, path: Path | None) -> None:
        if path is not None:
            self._read(then=str(path))
