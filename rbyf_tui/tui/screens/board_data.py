"""What the leaderboard, matrix, chart and compare screens share: loading the standings in
a worker thread, the catalog and rater choices, and how a score looks."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rich.text import Text
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from rbyf_tui import ranking
from rbyf_tui.compare import Answer
from rbyf_tui.metrics import fmt
from rbyf_tui.ranking import Standing
from rbyf_tui.store import Store
from rbyf_tui.tui.widgets.stats import checks_text

CSS_PATH = Path(__file__).resolve().parent.parent / "board.tcss"
CommandSet = set[type[Provider] | Callable[[], type[Provider]]]  # a Screen's COMMANDS

# Red (0) to green (5) behind a dark or light digit: the digit carries the score, so it
# stays readable with 256 colours and under NO_COLOR.
SCORE_STYLES = {
    0: "bold #ffffff on #a50026",
    1: "bold #ffffff on #d73027",
    2: "bold #000000 on #fc8d59",
    3: "bold #000000 on #fee08b",
    4: "bold #000000 on #91cf60",
    5: "bold #000000 on #1a9850",
}

EMPTY_HELP = (
    "No ratings yet.\n\n"
    "To fill the leaderboard, rate a session: start one from the home screen and score "
    "each answer from 0 to 5.\n"
    "Or bring in the old scripts' CSV and log files from a shell:\n\n"
    "    rbyf import PATH...\n\n"
    "then open the leaderboard again (l)."
)


def score_text(score: int | None, pad: int = 1) -> Text:
    """A score as a coloured block; '·' when there is none."""
    space = " " * pad
    if score is None:
        return Text(f"{space}·{space}", style="dim")
    return Text(f"{space}{score}{space}", style=SCORE_STYLES.get(score, ""))


def append_remarks(text: Text, answer: Answer) -> None:
    """The remarks, then the catalog's automatic checks (hints beside the score)."""
    text.append("\nremarks: ")
    text.append(answer.remarks or "(none)", style="" if answer.remarks else "dim")
    if answer.checks:
        text.append("\n")
        text.append_text(checks_text(list(answer.checks)))


# "-instruct", "-it", "-chat": the part of a model name that tells the least apart.
_FILLER = re.compile(r"[-_.](instruct|it|chat)(?=[-_.]|$)", re.IGNORECASE)


def shorten(name: str, width: int) -> str:
    """A name cut to `width`: first its "-instruct" part becomes "…", then its middle, so
    size and quantization both show (the full name is shown elsewhere on the screen)."""
    if len(name) <= width:
        return name
    if width <= 1:
        return name[:width]
    stripped = _FILLER.sub("…", name, count=1)
    if len(stripped) <= width:
        return stripped
    if "…" in stripped:  # cut more before the "…", so the quantization after it stays
        head, tail = stripped.split("…", 1)
        keep = len(head) - (len(stripped) - width)
        if keep >= 4:
            return head[:keep] + "…" + tail
    head = (width - 1) * 3 // 5
    tail = width - 1 - head
    return name[:head] + "…" + (name[-tail:] if tail else "")


def figures_line(figures: dict[str, object]) -> str:
    """One answer's figures on one line; those it lacks (imported runs) are left out."""

    def value(key: str) -> float | None:
        number = figures.get(key)
        return float(number) if isinstance(number, int | float) else None

    parts = []
    for key, label, unit, digits in (("ttft_s", "TTFT", " s", 2),
                                     ("prompt_tps", "prompt", " t/s", 1),
                                     ("decode_tps", "decode", " t/s", 1),
                                     ("e2e_tps", "e2e", " t/s", 1),
                                     ("total_s", "total", " s", 1)):
        if (number := value(key)) is not None:
            parts.append(f"{label} {fmt(number, unit, digits)}")
    prompt, answer = value("prompt_tokens"), value("completion_tokens")
    if prompt is not None or answer is not None:
        parts.append(f"tokens {fmt(prompt, '', 0)} in, {fmt(answer, '', 0)} out")
    return " · ".join(parts) or "no figures recorded"


@dataclass(frozen=True)
class Choices:
    """The catalogs (most ratings first) and raters a screen can switch between."""

    catalogs: tuple[str, ...] = ()
    raters: tuple[str, ...] = ()

    def next_catalog(self, current: str | None) -> str | None:
        return _next(self.catalogs, current, wrap_to_none=False)

    def next_rater(self, current: str | None) -> str | None:
        """None (all raters), then each rater in turn, then all raters again."""
        return _next(self.raters, current, wrap_to_none=True)

    def with_catalog(self, catalog: str | None) -> Choices:
        if catalog is None or catalog in self.catalogs:
            return self
        return Choices((catalog, *self.catalogs), self.raters)

    def with_rater(self, rater: str | None) -> Choices:
        if rater is None or rater in self.raters:
            return self
        return Choices(self.catalogs, (*self.raters, rater))


def _next(items: Sequence[str], current: str | None, *, wrap_to_none: bool) -> str | None:
    if not items:
        return current
    if current not in items:
        return items[0]
    index = items.index(current) + 1
    if index < len(items):
        return items[index]
    return None if wrap_to_none else items[0]


@dataclass(frozen=True)
class BoardData:
    """Standings of every catalog (by `rater`, if given) and what can be switched to."""

    rater: str | None = None
    standings: tuple[Standing, ...] = ()
    choices: Choices = field(default_factory=Choices)
    missing: bool = False  # no database file at all yet

    def of(self, catalog: str | None) -> list[Standing]:
        return [s for s in self.standings if s.catalog == catalog]

    @property
    def empty(self) -> bool:
        return not self.choices.catalogs


def open_store(db_path: Path) -> Store | None:
    """The store, or None when there is no database file yet (nothing is created)."""
    return Store(db_path) if Path(db_path).exists() else None


def load_choices(store: Store) -> tuple[Choices, list[Standing]]:
    """Catalogs by how many ratings count in them (most first), raters, and the standings of
    all raters (computed anyway to count)."""
    every = ranking.leaderboard(store)
    count: dict[str, int] = {}
    for standing in every:
        count[standing.catalog] = count.get(standing.catalog, 0) + standing.n_rated
    catalogs = tuple(sorted(count, key=lambda c: (-count[c], c)))
    return Choices(catalogs, tuple(store.raters())), every


def load_board(db_path: Path, rater: str | None = None) -> BoardData:
    """Runs in a worker thread: ~100 ms on a million-rating store."""
    store = open_store(db_path)
    if store is None:
        return BoardData(rater, missing=True)
    choices, every = load_choices(store)
    standings = ranking.leaderboard(store, None, rater) if rater else every
    return BoardData(rater, tuple(standings), choices)


def filter_label(catalog: str | None, rater: str | None) -> str:
    return f"{catalog or 'no catalog'} · {'rater ' + rater if rater else 'all raters'}"


class BindingCommands(Provider):
    """The screen's key bindings as command palette entries (description, then key)."""

    def commands(self) -> list[tuple[str, str, str]]:
        found = []
        for binding in getattr(type(self.screen), "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description:
                key = binding.key.split(",")[0]
                found.append((binding.description, binding.action,
                              f"{binding.tooltip or binding.description} ({key})"))
        return found

    async def discover(self) -> Hits:
        for name, action, help_text in self.commands():
            yield DiscoveryHit(name, partial(self.screen.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self.commands():
            if (score := matcher.match(f"{name} {help_text}")) > 0:
                yield Hit(score, matcher.highlight(name), partial(self.screen.run_action, action),
                          text=name, help=help_text)
