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
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from rbyf_tui import catalog as catalogs
from rbyf_tui import comparison
from rbyf_tui.comparison import model_label
from rbyf_tui.errors import RbyfError
from rbyf_tui.load_failures import full_path
from rbyf_tui.opening import NewSession, ResumeSession
from rbyf_tui.store import ComparisonRow, LoadFailure, RecentModel, SessionRow, Store
from rbyf_tui.store.ids import short_ids

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


@dataclasses.dataclass(frozen=True)
class HomeData:
    """What the home screen lists, read in a worker (the DB may be busy elsewhere)."""

    recent: list[RecentModel]  # model files rated before, most recently used first
    failures: list[LoadFailure]  # failed loads not loaded since, newest first
    sessions: list[SessionRow]  # unfinished sessions, newest first
    catalogs: list[catalogs.CatalogEntry]
    short_ids: dict[str, str] = dataclasses.field(default_factory=dict)  # as shown, by id
    comparisons: list[ComparisonRow] = dataclasses.field(default_factory=list)  # unfinished
    answered: dict[str, int] = dataclasses.field(default_factory=dict)  # catalog -> models


def load_home(store: Store) -> HomeData:
    catalog_entries = catalogs.discover()
    if not store.path.exists():
        return HomeData([], [], [], catalog_entries)
    failures = [row for row in store.load_failures(100) if not row.loaded_since]
    every = store.sessions()
    # A comparison's sessions are listed as the comparison.
    sessions = [row for row in every if row.status != "complete" and row.origin != "import"
                and row.comparison_id is None]
    return HomeData(store.recent_models(20), failures, sessions, catalog_entries,
                    short_ids(row.id for row in every),  # unique among all sessions
                    store.comparisons(unfinished=True), dict(store.answered_catalogs()))


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else ""


class HomeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_session", "new session",
                tooltip="Start a session with the chosen model and catalog"),
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
                yield OptionList(id="models")
                yield Input(placeholder="or type a .gguf path, enter", id="model-path")
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
        self._load_models(data.recent)
        self._load_catalogs(data.catalogs)
        if loaded:  # until then "none" would be a wrong answer
            self.answered = data.answered
            self._load_sessions(data.sessions, data.short_ids, data.comparisons)
            self.reading = False
        self._update_help()

    # --- the three lists -------------------------------------------------------------

    def _load_models(self, recent: list[dict[str, Any]]) -> None:
        config = self.rbyf.config
        options = config.options
        models: list[ModelChoice] = []
        if options.backend == "openai":
            served = options.api_model or "the served model"
            models.append(ModelChoice(f"{served} at {options.server}", "openai", None))
        if options.model:
            models.append(ModelChoice(Path(options.model).name, "llama", options.model,
                                      "given"))
        if config.offer_demo:
            models.append(ModelChoice("demo model (Gemma 3 270M)", "llama", None, "demo"))
        seen = {m.path for m in models}
        for row in recent:
            if row.path in seen:
                continue
            seen.add(row.path)
            missing = "" if Path(row.path).exists() else " (missing)"
            models.append(ModelChoice(model_label(row.name, row.quantization, row.size_bytes),
                                      "llama", row.path, f"{_when(row.last_used)}{missing}"))
        for path, row in self.failures.items():
            # a file that failed to load may load after an upgrade; a typo is not offered
            if row.backend == "llama.cpp" and path not in seen and Path(path).is_file():
                seen.add(path)
                models.append(ModelChoice(Path(path).name, "llama", path, ""))
        self.models = models
        self.model = min(self.model, max(0, len(models) - 1))
        self._render_models()

    def _render_models(self) -> None:
        out = self.query_one("#models", OptionList)
        out.set_options(self._model_option(i, m) for i, m in enumerate(self.models))
        if self.models:
            out.highlighted = self.model
        else:
            out.add_option(Option("no models yet: type a .gguf path below", disabled=True))

    def _model_option(self, index: int, model: ModelChoice) -> Option:
        mark = "▸ " if index == self.model else "  "
        text = Text(mark + model.label)
        if model.note:
            text.append(f"  {model.note}", style="dim")
        if self._model_failure(model) is not None:
            text.append("  load failed", style="bold")
        return Option(text)

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
    def _highlighted(self) -> None:
        self._update_help()

    def on_descendant_focus(self) -> None:
        self._update_help()

    def _update_help(self) -> None:
        focused = self.focused.id if self.focused is not None else None
        failure = None
        if focused == "models":
            index = self.query_one("#models", OptionList).highlighted
            if index is not None and index < len(self.models):
                failure = self._model_failure(self.models[index])
        elif focused == "sessions":
            index = self.query_one("#sessions", OptionList).highlighted
            if index is not None and index < len(self.session_ids):
                failure = self.failed_sessions.get(self.session_ids[index])
        help_line = self.query_one("#home-help", Static)
        help_line.set_class(failure is not None, "-failed")
        help_line.update(HELP if failure is None else
                         f"load failed {_when(failure.failed_at)}: {failure.error}")

    # --- choosing ---------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#models")
    def _model_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.models):
            self.model = event.option_index
            self._render_models()
            self.query_one("#models", OptionList).highlighted = self.model
            self.query_one("#catalogs").focus()

    @on(Input.Submitted, "#model-path")
    def _path_typed(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            return
        self.models.insert(0, ModelChoice(Path(path).name, "llama", path, "typed"))
        self.model = 0
        self._render_models()
        self.query_one("#catalogs").focus()

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

    def action_leaderboard(self) -> None:
        self.rbyf.open_leaderboard(None)

    def action_quit(self) -> None:
        self.rbyf.check_stop(quit_now=True)
