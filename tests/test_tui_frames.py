"""Cheaper frames paint the same cells: the session screen's compositor and the answer pane's
kept rows against Textual's own rendering, on the real session screen."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from textual._compositor import Compositor
from textual.geometry import Region
from textual.widget import Widget

from rbyf_tui.backends import BackendOptions
from rbyf_tui.tui.app import RbyfApp
from rbyf_tui.tui.compositor import RowCompositor
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.screens.session import SessionScreen
from rbyf_tui.tui.widgets.stats import FigureLines
from rbyf_tui.tui.widgets.stream import StreamView

from conftest import REPO
from fakes import ScriptedBackend
from helpers import MINI

pytestmark = pytest.mark.anyio

# wide characters, a word longer than a row, blank lines, a list: what wrapping meets
TEXT = "\n".join([
    "The keeper climbed the tower as the storm came in from the west, " * 3,
    "",
    "- 灯台守は嵐の夜に灯りをともし続けた。" * 4,
    "- a" + "b" * 130,
    "",
    *(f"line {n} of the answer, long enough to wrap once at eighty columns or so." * 2
      for n in range(40)),
])


@asynccontextmanager
async def answer_pane(tmp_path: Path, size: tuple[int, int]
                      ) -> AsyncIterator[tuple[Any, SessionScreen, StreamView]]:
    """The session screen with a long answer in its (streaming) answer pane."""
    catalog = tmp_path / "mini.toml"
    catalog.write_text(MINI, encoding="utf-8")
    config = AppConfig(db_path=tmp_path / "rbyf.duckdb", options=BackendOptions(model="x.gguf"),
                       catalog=str(catalog), start=True, handle_signals=False)
    config.backend_factory = lambda options, n_ctx, seed: ScriptedBackend(["x"])
    async with RbyfApp(config).run_test(size=size) as pilot:
        end = time.monotonic() + 60
        while not (isinstance(screen := pilot.app.screen, SessionScreen)
                   and screen.runner is not None and screen.gen_key is None):
            assert time.monotonic() < end, "the session did not open"
            await pilot.pause(0.05)
        screen.query_one("#answer").display = False
        view = screen.query_one("#stream", StreamView)
        view.display = True
        await pilot.pause(0.1)
        view.set_text(TEXT)
        await pilot.pause(0.1)
        yield pilot, screen, view


def rows(strips: list[Any]) -> list[tuple[int, list[Any]]]:
    return [(strip.cell_length, list(strip)) for strip in strips]


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
async def test_the_answer_pane_paints_its_rows_as_textuals_styles_cache_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_color: bool) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    async with answer_pane(tmp_path, (80, 24)) as (pilot, screen, view):
        width, height = view.size
        assert view.row_count > 3 * height  # the answer runs past the view
        styles = []
        for restyle in (False, True):
            if restyle:  # kept rows are painted again in the new colours
                screen.app.theme = "textual-light"
                await pilot.pause(0.2)
            for top in (0, view.row_count // 3, view.max_scroll_y):
                view.scroll_to(0, top, animate=False, immediate=True)
                for crop in (Region(0, 0, width, height), Region(0, 2, width, 3),
                             Region(3, 1, width - 6, 2), Region(0, height - 1, width, 1)):
                    ours = view.render_lines(crop)
                    view.refresh()  # Textual's styles cache paints every row again
                    assert rows(ours) == rows(Widget.render_lines(view, crop)), (top, crop)
                bar = view.vertical_scrollbar  # its thumb moved: painted as Textual does
                assert bar.display and "render_lines" in bar.__dict__
                await pilot.pause(0.05)
                crop = Region(0, 0, *bar.size)
                ours = bar.render_lines(crop)
                bar.refresh()
                assert rows(ours) == rows(Widget.render_lines(bar, crop)), top
            styles.append(next(iter(ours[0])).style)
        assert styles[0] != styles[1]  # the restyle reached the rows kept


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_partial_updates_paint_what_textuals_compositor_paints(
        tmp_path: Path, size: tuple[int, int]) -> None:
    async with answer_pane(tmp_path, size) as (pilot, screen, view):
        compositor = screen._compositor
        assert isinstance(compositor, RowCompositor)
        console = screen.app.console
        figures = screen.query_one(FigureLines)
        spark = screen.query_one("#spark")
        bar = view.vertical_scrollbar
        last_rows = view.region.intersection(Region(0, view.region.bottom - 3, size[0], 2))
        chosen = [[last_rows], [view.region], [bar.region], [figures.region, last_rows],
                  [spark.region, figures.region, view.region],
                  [screen.query_one("#status").region, bar.region]]
        rng, screen_region = random.Random(5), Region(0, 0, *size)
        for _ in range(60):  # and any regions on the screen, one to three of them
            chosen.append([Region(x, y, rng.randint(1, 30), rng.randint(1, 6)).intersection(
                screen_region) for x, y in ((rng.randrange(size[0]), rng.randrange(size[1]))
                                            for _ in range(rng.randint(1, 3)))])
        for regions in chosen:
            textual = painted(compositor, regions, console, textuals=True)
            ours = painted(compositor, regions, console, textuals=False)
            assert ours == textual, regions
        # not vacuous: the answer's rows were painted
        assert "line 39" in painted(compositor, [view.region], console, textuals=False)
        await pilot.pause(0)


# a cursor move followed by another move (or nothing) draws nothing; Textual writes one for a
# cell range of a widget that ends where the update ends, and that widget is left out here
IDLE_MOVE = re.compile(r"\x1b\[\d+;\d+H(?=\x1b\[\d+;\d+H|\n|$)")


def painted(compositor: RowCompositor, regions: list[Region], console: Any,
            textuals: bool) -> str:
    """What a partial update of `regions` draws on the terminal."""
    compositor._dirty_regions.update(regions)
    if not textuals:
        update = compositor.render_partial_update()
    else:  # Textual's own renders, the rest of the update unchanged
        compositor._get_renders = partial(Compositor._get_renders, compositor)  # type: ignore[method-assign]
        try:
            update = Compositor.render_partial_update(compositor)
        finally:
            del compositor._get_renders
    assert update is not None
    return IDLE_MOVE.sub("", update.render_segments(console))


def test_the_frame_cost_benchmark_runs() -> None:
    # 3 s of answer, measured from 0.75 s: the pacer paints a few frames a second, and a
    # busy machine (a CI run) must still see some (0.45 s measured once saw none)
    result = subprocess.run(
        [sys.executable, "benchmarks/frame_cost.py", "--tokens", "360", "--rate", "120",
         "--sizes", "80x24"], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "80x24:" in result.stdout and "CPU a frame median" in result.stdout
    assert "% of a core" in result.stdout
