"""A tiny app hosting the leaderboard screens, and deterministic databases to show in it."""

from __future__ import annotations

import asyncio
import html
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

from textual.app import App
from textual.pilot import Pilot

from rbyf_tui import catalog as catalogs
from rbyf_tui import legacy
from rbyf_tui.backends.base import ModelInfo
from rbyf_tui.catalog import Catalog
from rbyf_tui.metrics import Figures
from rbyf_tui.store import ImportedGeneration, ImportedSession, Store
from rbyf_tui.tui.palette import BindingCommands
from rbyf_tui.tui.screens.board.leaderboard import LeaderboardScreen

from conftest import LEGACY
from helpers import mini_catalog

T0 = datetime(2026, 3, 1, 9, 0, 0)

# Two runs with fixed figures, so the chart has decode speeds to place: scores per task of
# rbyf-v2 in catalog order, decode tokens/s, rater.
SPEED_RUNS = {
    "swift-1b-q4": ([3, 2, 4, 3, 3, 2, 3, 1, 4, 3, 2, 3, 1, 3], 85.0, "ann"),
    "steady-7b-q4": ([5, 4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5, 3, 4], 14.0, "ann"),
}


def answer_text(model: str, title: str) -> str:
    return (f"**{model}** on *{title}*.\n\n- first point of {model}\n- second point\n\n"
            f"Closing line from {model}.")


def fixed_session(catalog: Catalog, model: str, scores: list[int], decode_tps: float,
                  rater: str, start: datetime = T0) -> ImportedSession:
    """A finished, rated session with fixed figures and times."""
    gens = []
    for n, task in enumerate(catalog.all_tasks()):
        ttft = round(0.2 + 40 / decode_tps, 2)
        tokens = 200 + 10 * n
        total = round(ttft + (tokens - 1) / decode_tps, 3)
        figures = Figures(ttft_s=ttft, total_s=total, prompt_tokens=120, completion_tokens=tokens,
                          prompt_tps=round(120 / ttft, 1), decode_tps=decode_tps,
                          e2e_tps=round(tokens / total, 1))
        at = start + timedelta(minutes=n)
        score = None if task.is_warmup else scores[n - (1 if catalog.warmup else 0)]
        gens.append(ImportedGeneration(
            key=task.key, title=task.title, is_warmup=task.is_warmup, attempt=1,
            prompt=task.prompt, response=answer_text(model, task.title), sampling=None,
            figures=figures, extra=None, started_at=at,
            finished_at=at + timedelta(seconds=total), score=score,
            remarks="" if score is None or score >= 4 else f"{model} remark on {task.key}"))
    return ImportedSession(
        model=ModelInfo(key=f"fixed:{model}", name=model, backend="fixed"), catalog=catalog,
        source_hash=f"fixed-{catalog.name}-{model}", settings={}, note="test", rater=rater,
        created_at=start, generations=gens)


def legacy_db(path: Path) -> Path:
    """The old scripts' four runs (rater 'tester'), as `rbyf import` brings them in."""
    report = legacy.import_paths(Store(path), [LEGACY])
    assert not report.failed and len(report.imported) == 4
    return path


def full_db(path: Path) -> Path:
    """The legacy runs, two rbyf-v2 runs with speeds (rater 'ann'), and one model on the
    mini catalog, so there are two catalogs and two raters."""
    legacy_db(path)
    store = Store(path)
    v2 = catalogs.resolve("rbyf-v2")
    for model, (scores, decode, rater) in SPEED_RUNS.items():
        store.import_session(fixed_session(v2, model, scores, decode, rater))
    store.import_session(fixed_session(mini_catalog(), "mini-model", [4, 2], 30.0, "tester"))
    return path


class BoardApp(App[None]):
    """Opens the leaderboard at once, as the session screen does on `l`; like the real app it
    holds the store the screens read through, and lists each screen's bindings in the
    command palette."""

    COMMANDS = App.COMMANDS | {BindingCommands}

    def __init__(self, db_path: Path, catalog: str | None = None,
                 rater: str | None = None) -> None:
        super().__init__()
        self.db_path = db_path
        self.store = Store(db_path, keep_open=True)
        self.catalog = catalog
        self.rater = rater

    def on_mount(self) -> None:
        self.push_screen(LeaderboardScreen(self.catalog, self.rater))

    def on_unmount(self) -> None:
        self.store.close()


async def settle(pilot: Pilot[None], timeout_s: float = 30.0) -> None:
    """Wait for the screens' loading workers and the messages they send (a finished worker
    may start the next, e.g. compare: the models, then their answers); fails after
    `timeout_s` rather than hanging."""
    deadline = time.monotonic() + timeout_s
    idle = 0
    while idle < 2:
        left = deadline - time.monotonic()
        busy = [w.name or w.group for w in pilot.app.workers if not w.is_finished]
        if left <= 0:
            raise AssertionError(f"workers still running after {timeout_s:.0f} s: {busy} "
                                 f"(screen {type(pilot.app.screen).__name__})")
        await pilot.pause()
        try:
            await asyncio.wait_for(pilot.app.workers.wait_for_complete(), left)
        except TimeoutError:
            continue  # the deadline check above names them
        await pilot.pause()
        busy = [w.name or w.group for w in pilot.app.workers if not w.is_finished]
        idle = 0 if busy else idle + 1


async def until(pilot: Pilot[None], shown: str, timeout_s: float = 60.0) -> str:
    """The screen's text once it shows `shown`; fails after `timeout_s` with what it shows."""
    deadline = time.monotonic() + timeout_s
    while shown not in (text := screen_text(pilot.app)):
        if time.monotonic() >= deadline:
            raise AssertionError(f"{shown!r} not on screen after {timeout_s:.0f} s; it shows:"
                                 f"\n{text}")
        await pilot.pause(0.05)
    return text


def screen_text(app: App[None]) -> str:
    """What the terminal shows, as plain lines (from the SVG screenshot Textual exports)."""
    svg = app.export_screenshot()
    rows: dict[float, dict[int, str]] = {}
    for match in re.finditer(r'<text class="[^"]*-r\d+"[^>]*? x="([\d.]+)" y="([\d.]+)"'
                             r'[^>]*>([^<]*)</text>', svg):
        text = html.unescape(match[3]).replace("\xa0", " ")
        rows.setdefault(float(match[2]), {})[round(float(match[1]) / 12.2)] = text
    lines = []
    for y in sorted(rows):
        cells = [" "] * 400
        for column, text in rows[y].items():
            cells[column:column + len(text)] = text
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)
