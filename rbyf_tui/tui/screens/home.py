"""Home: pick a model and a catalog for a new session, or resume an unfinished one."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from rbyf_tui import catalog as catalogs
from rbyf_tui import comparison, discovery
from rbyf_tui.discovery import FoundModel
from rbyf_tui.errors import RbyfError
from rbyf_tui.load_failures import full_path
from rbyf_tui.opening import NewSession, ResumeSession
from rbyf_tui.store import ComparisonRow, LoadFailure, SessionRow, Store
from rbyf_tui.store.ids import short_ids
from rbyf_tui.tui import model_text
from rbyf_tui.tui.screens.models import list_models
from rbyf_tui.tui.widgets.facts_table import Column, FactsTable

if TYPE_CHECKING:
    from rbyf_tui.tui.app import RbyfApp

DEFAULT_CATALOG = "rbyf-v2"
HELP = ("enter on a model picks it · enter on a catalog starts a new session · enter on a "
        "session resumes it · tab moves")


@dataclasses.dataclass(frozen=True)
class ModelChoice:
    label: str
    backend: str  # llama | openai
    path: str | None  # None: the demo model (llama) or the server's model (openai)
    note: str = ""
    found: FoundModel | None = None  # a model file found on disk, with its facts

    @property
    def key(self) -> str:
        return f"{self.backend}:{self.path or self.label}"


@dataclasses.dataclass(frozen=True)
class ModelRow:
    """A line of the home's model list."""

    choice: ModelChoice
    chosen: bool
    failed: bool


def _row_name(row: ModelRow, width: int = 0) -> Text:
    """The mark of the chosen model, its name and notes; narrower than `width`, notes go
    first and the name is cut last, but a failed load always says so."""
    found = row.choice.found
    name = model_text.short_name(found) if found else row.choice.label
    note = Text(f" {row.choice.note}", style="dim") if row.choice.note else Text()
    failed = [Text(" load failed", style="bold"), Text(" failed", style="bold")]
    notes = [Text.assemble(note, failed[0]), failed[0], failed[1]] if row.failed else [note]
    fits = [n for n in notes if not width or 2 + len(name) + n.cell_len <= width]
    tail = fits[0] if fits else notes[-1] if row.failed else Text()
    room = width - 2 - tail.cell_len
    if width and len(name) > room:
        name = name[:max(1, room - 1)] + "…"
    return Text.assemble("▸ " if row.chosen else "  ", name, tail)


def _fact(cell: Any) -> Any:
    return lambda row: cell(row.choice.found) if row.choice.found else ""


# At 80 columns the list is half the screen: the name, the quantization and the size a
# model is chosen by (its parameters show from 100 columns on, and the name mostly says
# them too); the models screen (m) has every fact.
HOME_COLUMNS = [
    Column("name", "  name", _row_name, most=200, fit=_row_name),
    Column("quant", "quant", _fact(lambda m: m.facts.quantization or ""), most=9),
    Column("size", "size", _fact(lambda m: model_text.size(m.size_bytes)), right=True),
    Column("params", "params", _fact(lambda m: model_text.count(m.facts.parameters)),
           right=True),
]


@dataclasses.dataclass(frozen=True)
class HomeData:
    """What the home screen lists, read in a worker (the DB may be busy elsewhere)."""

    found: list[FoundModel]  # every model file found, with its facts and use
    failures: list[LoadFailure]  # failed loads not loaded since, newest first
    sessions: list[SessionRow]  # unfinished sessions, newest first
    catalogs: list[catalogs.CatalogEntry]
    short_ids: dict[str, str] = dataclasses.field(default_factory=dict)  # as shown, by id
    comparisons: list[ComparisonRow] = dataclasses.field(default_factory=list)  # unfinished
    answered: dict[str, int] = dataclasses.field(default_factory=dict)  # catalog -> models
    found_error: str | None = None  # the models could not be listed


def load_home(store: Store) -> HomeData:
    catalog_entries = catalogs.discover()
    found, error = list_models(store)
    if not store.path.exists():
        return HomeData(found, [], [], catalog_entries, found_error=error)
    failures = [row for row in store.load_failures(100) if not row.loaded_since]
    every = store.sessions()
    # A comparison's sessions are listed as the comparison.
    sessions = [row for row in every if row.status != "complete" and row.origin != "import"
                and row.comparison_id is None]
    return HomeData(found, failures, sessions, catalog_entries,
                    short_ids(row.id for row in every),  # unique among all sessions
                    store.comparisons(unfinished=True), dict(store.answered_catalogs()),
                    found_error=error)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else ""


class HomeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_session", "new session",
                tooltip="Start a session with the chosen model and catalog"),
        Binding("m", "models", "models",
                tooltip="Every model found, with all its facts: filter, sort, pick"),
        Binding("p", "pull", "pull", tooltip="Download a GGUF model from the Hugging Face Hub"),
        Binding("c", "compare", "compare",
                tooltip="Generate the catalog on several models, then rate them blind"),
        Binding("b", "battle", "battle",
                tooltip="Vote on pairs of anonymous answers to the chosen catalog"),
        Binding("l", "leaderboard", "board", tooltip="Rank every rated model"),
        Binding("q", "quit", "quit", tooltip="Leave rbyf"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.models: list[ModelChoice] = []
        self.found: list[FoundModel] = []
        self.found_error: str | None = None
        self.typed: list[ModelChoice] = []  # paths typed below the list, newest first
        self.shown: list[int] = []  # the models the filter lets through, as listed
        self.filter = ""  # what is typed below the list
        self.pulled: str | None = None  # a model just pulled: highlighted once listed
        self.catalog_entries: list[catalogs.CatalogEntry] = []
        self.session_ids: list[str] = []  # the list's entries: sessions, then comparisons
        self.comparison_ids: list[str] = []
        self.answered: dict[str, int] = {}
        self.opening = False  # a comparison is being read or planned
        self.failures: dict[str, LoadFailure] = {}  # by model path: loads that failed
        self.failed_sessions: dict[str, LoadFailure] = {}  # by session id
        self.model = 0
        self.catalog = 0
        self.reading = True  # the lists are being read (not `loading`: a Widget reactive)

    @property
    def rbyf(self) -> RbyfApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("rbyf · rate local LLMs on your own prompts", id="title")
        with Horizontal(id="home"):
            with Vertical(id="home-left"):
                yield FactsTable(HOME_COLUMNS, least=20, id="models")
                yield Static(id="models-empty", markup=False)
                yield Input(placeholder="filter, or a .gguf path + enter",
                            id="model-path")
                yield OptionList(id="catalogs")
            with Vertical(id="home-right"):
                yield OptionList(id="sessions")
                yield Static(HELP, id="home-help", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#models").border_title = "model"
        self.query_one("#catalogs").border_title = "catalog"
        self.query_one("#sessions").border_title = "unfinished sessions · comparisons"
        # What needs no DB shows at once (a few ms of TOML); the rest when the worker ends.
        self._show_lists(HomeData([], [], [], catalogs.discover()), loaded=False)
        self.query_one("#models-empty").display = False
        self.refresh_lists()
        self.query_one("#models").focus()

    def on_screen_resume(self) -> None:
        """Back from another screen (a comparison, blind rating, battles): read again."""
        if not self.reading:
            self.refresh_lists()

    def refresh_lists(self) -> None:
        """Read the lists again, in a worker; they show when it ends."""
        self.reading = True
        self._read_lists()

    @work(thread=True, exclusive=True, group="home-lists", exit_on_error=False)
    def _read_lists(self) -> HomeData:
        return load_home(self.rbyf.store)

    @on(Worker.StateChanged)
    def _lists_read(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "home-lists":
            return
        if event.state == WorkerState.SUCCESS:
            self._show_lists(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self.reading = False
            self.notify(f"could not read the sessions: {event.worker.error}",
                        severity="error")

    def _show_lists(self, data: HomeData, loaded: bool = True) -> None:
        self.failures = {}
        for row in data.failures:  # newest first: keep each model's latest
            self.failures.setdefault(row.model, row)
        self.failed_sessions = {}
        for row in data.failures:
            if row.session_id:
                self.failed_sessions.setdefault(row.session_id, row)
        if loaded:  # until then the models found are not known yet
            self.found, self.found_error = data.found, data.found_error
        self._load_models(self.found)
        self._load_catalogs(data.catalogs)
        if loaded:  # until then "none" would be a wrong answer
            self.answered = data.answered
            self._load_sessions(data.sessions, data.short_ids, data.comparisons)
            self.reading = False
            self._show_pulled()
        self._update_help()

    # --- the three lists -------------------------------------------------------------

    def _load_models(self, found: list[FoundModel]) -> None:
        config = self.rbyf.config
        options = config.options
        chosen = self.models[self.model].key if self.models else None
        # By the file itself: a hub cache file is a symlink, a given path may be another one.
        by_path = {full_path(str(m.path)): m for m in found}  # a file given has facts too
        models = [dataclasses.replace(m, found=by_path.get(full_path(m.path), m.found))
                  if m.path else m for m in self.typed]
        if options.backend == "openai":
            served = options.api_model or "the served model"
            models.append(ModelChoice(f"{served} at {options.server}", "openai", None))
        if options.model:
            models.append(ModelChoice(Path(options.model).name, "llama", options.model,
                                      "given", by_path.get(full_path(options.model))))
        demo = next((m for m in found if m.source == "demo"), None)
        if config.offer_demo:  # first, as always: the model every new user has
            models.append(self._choice(demo) if demo is not None else
                          ModelChoice("demo model (Gemma 3 270M)", "llama", None, "demo"))
        seen = {full_path(m.path) for m in models if m.path}
        for model in discovery.sort_models([m for m in found if m.source != "demo"], "used"):
            if full_path(str(model.path)) not in seen:
                seen.add(full_path(str(model.path)))
                models.append(self._choice(model))
        for path, row in self.failures.items():
            # a file that failed to load may load after an upgrade; a typo is not offered
            if row.backend == "llama.cpp" and path not in seen and Path(path).is_file():
                seen.add(path)
                models.append(ModelChoice(Path(path).name, "llama", path, "",
                                          by_path.get(path)))
        self.models = models
        keys = [m.key for m in models]
        self.model = keys.index(chosen) if chosen in keys else 0
        self._render_models()

    @staticmethod
    def _choice(model: FoundModel) -> ModelChoice:
        if model.source == "demo":  # assembled from its package when first loaded
            return ModelChoice(model.name, "llama", None, "demo", model)
        return ModelChoice(model.name, "llama", str(model.path), "", model)

    def _matches(self, model: ModelChoice) -> bool:
        if model.found is not None:
            return discovery.matches(model.found, self.filter)
        words = f"{model.label} {model.note}".lower()
        return all(word in words for word in self.filter.lower().split())

    def _render_models(self, cursor: int | None = None) -> None:
        """The list as filtered, the cursor on `cursor` (a model's index), else on the
        chosen model."""
        self.shown = [i for i, m in enumerate(self.models) if self._matches(m)]
        table = self.query_one("#models", FactsTable)
        rows = [(str(i), ModelRow(self.models[i], i == self.model,
                                  self._model_failure(self.models[i]) is not None))
                for i in self.shown]
        at = cursor if cursor is not None else self.model
        table.show(rows, cursor=str(at) if at in self.shown else
                   str(self.shown[0]) if self.shown else None)
        empty = self.query_one("#models-empty", Static)
        empty.display = not self.shown or self.found_error is not None
        if self.found_error is not None:
            empty.update(f"could not list the models: {self.found_error}")
        elif self.models:
            empty.update(f"nothing matches {self.filter!r}: enter takes it as a .gguf path")
        else:
            empty.update("no models found: m shows where rbyf looked; p pulls one from the "
                         "Hugging Face Hub; or type a .gguf path below")

    def _highlighted_model(self) -> ModelChoice | None:
        row = self.query_one("#models", FactsTable).current()
        return row.choice if isinstance(row, ModelRow) else None

    def _model_failure(self, model: ModelChoice) -> LoadFailure | None:
        return self.failures.get(full_path(model.path)) if model.path else None

    def _load_catalogs(self, entries: list[catalogs.CatalogEntry]) -> None:
        self.catalog_entries = list(entries)
        wanted = self.rbyf.config.catalog or DEFAULT_CATALOG
        names = [e.name for e in self.catalog_entries]
        if wanted not in names:  # a .toml path given with --catalog
            try:
                given = catalogs.resolve(wanted)
            except RbyfError:
                pass
            else:
                self.catalog_entries.insert(0, catalogs.CatalogEntry(
                    given.name, Path(wanted), "given", given))
                names.insert(0, given.name)
                wanted = given.name
        if wanted in names and self.catalog == 0:
            self.catalog = names.index(wanted)
        out = self.query_one("#catalogs", OptionList)
        options = []
        for entry in self.catalog_entries:
            if entry.catalog is None:
                options.append(Option(f"{entry.name}: broken ({entry.error})", disabled=True))
                continue
            c = entry.catalog
            warm = " + warm-up" if c.warmup else ""
            options.append(Option(Text(f"{c.name} {c.version}  {len(c.tasks)} tasks{warm}  "
                                       f"({entry.origin})")))
        out.set_options(options)
        if options:
            out.highlighted = self.catalog

    def _load_sessions(self, rows: list[SessionRow], short: dict[str, str],
                       compared: list[ComparisonRow] | None = None) -> None:
        self.session_ids = [r.id for r in rows]
        self.comparison_ids = [c.id for c in compared or []]
        out = self.query_one("#sessions", OptionList)
        options = []
        for r in rows:
            busy = " · open elsewhere" if r.running else ""
            quant = f" {r.quantization}" if r.quantization else ""
            text = Text(f"{short.get(r.id, r.id)}  {r.model[:24]}{quant}\n", style="bold")
            text.append(f"  {r.catalog[:12]} · {r.rated}/{r.tasks} rated · "
                        f"{_when(r.created_at)[5:]}{busy}", style="")
            if r.id in self.failed_sessions:
                text.append("\n  load failed", style="bold")
            options.append(Option(text))
        for c in compared or []:
            text = Text(f"{c.id[:8]}  comparison of {len(c.members)} models\n", style="bold")
            done = sum(m.generated for m in c.members)
            state = (f"{done}/{len(c.members)} generated" if not c.generated
                     else "enter rates blind")
            text.append(f"  {c.catalog_name[:12]} · {state} · {_when(c.created_at)[5:]}")
            names = ", ".join(comparison.member_description(m) for m in c.members)
            text.append(f"\n  {names[:34]}{'…' if len(names) > 34 else ''}", style="dim")
            options.append(Option(text))
        out.set_options(options)
        if options:
            out.highlighted = 0
        else:
            out.add_option(Option("none: every session is rated", disabled=True))

    # --- the help line: the error of a highlighted model or session that failed to load --

    @on(OptionList.OptionHighlighted)
    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_help()

    def on_descendant_focus(self) -> None:
        self._update_help()

    def _update_help(self) -> None:
        focused = self.focused.id if self.focused is not None else None
        failure = None
        if focused == "models":
            model = self._highlighted_model()
            if model is not None:
                failure = self._model_failure(model)
        elif focused == "sessions":
            index = self.query_one("#sessions", OptionList).highlighted
            if index is not None and index < len(self.session_ids):
                failure = self.failed_sessions.get(self.session_ids[index])
        help_line = self.query_one("#home-help", Static)
        help_line.set_class(failure is not None, "-failed")
        help_line.update(HELP if failure is None else
                         f"load failed {_when(failure.failed_at)}: {failure.error}")

    # --- choosing ---------------------------------------------------------------------

    @on(DataTable.RowSelected, "#models")
    def _model_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self._choose(int(event.row_key.value))

    def _choose(self, index: int) -> None:
        self.model = index
        if self.filter:  # the list shows every model again, the chosen one marked
            self.query_one("#model-path", Input).clear()
            self.filter = ""
        self._render_models()
        self.query_one("#catalogs").focus()

    @on(Input.Changed, "#model-path")
    def _filter_typed(self, event: Input.Changed) -> None:
        if event.value.strip() != self.filter:
            self.filter = event.value.strip()
            self._render_models(cursor=-1)  # the first model that matches

    @on(Input.Submitted, "#model-path")
    def _path_typed(self, event: Input.Submitted) -> None:
        """A file's path is that file; else the first model the words match; else it is
        taken as a path all the same (a new session then says what is wrong with it)."""
        typed = event.value.strip()
        if not typed:
            return
        model = self._highlighted_model()
        if not Path(typed).expanduser().is_file() and model is not None:
            self._choose(self.models.index(model))
            return
        choice = ModelChoice(Path(typed).name, "llama", typed, "typed")
        self.typed = [choice, *(m for m in self.typed if m.path != typed)]
        self._load_models(self.found)  # listed first, with its facts if it was found
        self._choose(0)

    @on(OptionList.OptionSelected, "#catalogs")
    def _catalog_selected(self, event: OptionList.OptionSelected) -> None:
        self.catalog = event.option_index
        self.action_new_session()

    @on(OptionList.OptionSelected, "#sessions")
    def _session_selected(self, event: OptionList.OptionSelected) -> None:
        index = event.option_index
        if index < len(self.session_ids):
            options = dataclasses.replace(self.rbyf.config.options, model=None)
            self.rbyf.start_session(ResumeSession(self.session_ids[index], options))
            return
        index -= len(self.session_ids)
        if index < len(self.comparison_ids) and not self.opening:
            self.opening = True  # a second enter meanwhile opens nothing more
            self.open_comparison(self.comparison_ids[index])

    @work(thread=True, exclusive=True, group="home-open", exit_on_error=False)
    def open_comparison(self, comparison_id: str) -> None:
        """Generate what is missing, else rate blind."""
        generated = self.rbyf.store.comparison(comparison_id).generated
        self.app.call_from_thread(self._open_comparison, comparison_id, generated)

    @on(Worker.StateChanged)
    def _opened(self, event: Worker.StateChanged) -> None:
        if event.worker.group not in ("home-open", "home-compare") \
                or not event.worker.is_finished:
            return
        self.opening = False
        if event.state == WorkerState.ERROR:
            self.notify(str(event.worker.error), severity="error")

    def _open_comparison(self, comparison_id: str, generated: bool) -> None:
        from rbyf_tui.tui.screens.blind import BlindScreen
        from rbyf_tui.tui.screens.comparison_run import ComparisonRunScreen

        self.app.push_screen(BlindScreen(comparison_id, self.rbyf.config.rater) if generated
                             else ComparisonRunScreen(comparison_id))

    def action_new_session(self) -> None:
        if not self.models:
            self.notify("type the path of a .gguf model first", severity="warning")
            self.query_one("#model-path").focus()
            return
        entry = self.catalog_entries[self.catalog] if self.catalog_entries else None
        if entry is None or entry.catalog is None:
            self.notify("choose a catalog that loads", severity="warning")
            return
        choice = self.models[self.model]
        options = self.rbyf.config.options
        if choice.backend == "llama":
            options = dataclasses.replace(options, backend="llama", model=choice.path,
                                          base_url=None, api_model=None)
        try:
            options.check()
        except RbyfError as exc:
            self.notify(str(exc), severity="error")
            return
        self.rbyf.start_session(NewSession(options, entry.catalog))

    def action_compare(self) -> None:
        """Pick two or more models (space), enter: the chosen catalog on each, then blind."""
        entry = self.catalog_entries[self.catalog] if self.catalog_entries else None
        if entry is None or entry.catalog is None:
            self.notify("choose a catalog that loads", severity="warning")
            return
        choices = [(m.label, i) for i, m in enumerate(self.models) if m.backend == "llama"]
        if len(choices) < 2:
            self.notify("a comparison needs two model files: type another .gguf path below",
                        severity="warning")
            self.query_one("#model-path").focus()
            return
        from rbyf_tui.tui.screens.dialogs import PickMany

        catalog = entry.catalog
        self.app.push_screen(PickMany(
            f"Compare which models on {catalog.name}? (one after the other, same seed)",
            choices), lambda picked: self._compare(picked, catalog))

    def _compare(self, picked: list[int] | None, catalog: catalogs.Catalog) -> None:
        if picked and not self.opening:
            self.opening = True
            self.plan_comparison([self.models[i].path for i in picked], catalog)

    @work(thread=True, exclusive=True, group="home-compare", exit_on_error=False)
    def plan_comparison(self, paths: list[str | None], catalog: catalogs.Catalog) -> None:
        """Hash the files and store the comparison (seconds for a big file not hashed
        before), off the UI thread; then its run screen."""
        from rbyf_tui import comparison, model_files

        options = self.rbyf.config.options
        specs = [comparison.spec_for_file(path or str(model_files.demo_model_path()), options)
                 for path in paths]
        comparison_id = comparison.plan_comparison(
            self.rbyf.store, catalog, specs, seed=options.seed, origin="tui",
            settings={"max_tokens": self.rbyf.config.max_tokens})
        self.app.call_from_thread(self._open_comparison, comparison_id, False)

    def action_battle(self) -> None:
        """Battles on the chosen catalog, if two models answered it; else the catalog most
        models answered."""
        entry = self.catalog_entries[self.catalog] if self.catalog_entries else None
        name = entry.name if entry is not None else None
        if self.answered.get(name or "", 0) < 2:
            ready = [c for c, n in self.answered.items() if n >= 2]
            if not ready:
                self.notify("no catalog has answers of two models yet: press c to compare "
                            "models first", severity="warning")
                return
            name = max(ready, key=lambda c: (self.answered[c], c))
        from rbyf_tui.tui.screens.battle import BattleScreen

        self.app.push_screen(BattleScreen(name or "", self.rbyf.config.rater))

    # --- all the models, and pulling one ---------------------------------------------

    def action_models(self) -> None:
        from rbyf_tui.tui.screens.models import ModelsScreen

        model = self.models[self.model] if self.models else None
        chosen = str(model.found.path) if model and model.found else model and model.path
        self.app.push_screen(ModelsScreen(None if self.reading else self.found, chosen),
                             self._picked)

    def _picked(self, model: FoundModel | None) -> None:
        """Back from the models screen: its model chosen here."""
        if model is None:
            return
        listed = [m.found.path if m.found else None for m in self.models]
        if model.path not in listed:  # not on home's list (the demo, not offered): kept first
            self.typed = [self._choice(model), *self.typed]
            self._load_models(self.found)
            listed = [m.found.path if m.found else None for m in self.models]
        self._choose(listed.index(model.path))

    def action_pull(self) -> None:
        from rbyf_tui.tui.screens.pull import PullDialog

        self.app.push_screen(PullDialog(), self._pulled)

    def _pulled(self, path: Path | None) -> None:
        if path is not None:
            self.pulled = str(path)
            self.refresh_lists()

    def _show_pulled(self) -> None:
        """The model just pulled, under the cursor once the lists are read again."""
        if self.pulled is None:
            return
        paths = [full_path(m.path) if m.path else None for m in self.models]
        if full_path(self.pulled) in paths:
            self.query_one("#models", FactsTable).move_to(
                str(paths.index(full_path(self.pulled))))
            self.query_one("#models").focus()
        self.pulled = None

    def action_leaderboard(self) -> None:
        self.rbyf.open_leaderboard(None)

    def action_quit(self) -> None:
        self.rbyf.check_stop(quit_now=True)
