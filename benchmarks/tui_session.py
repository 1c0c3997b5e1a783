"""The full app, headless (App.run_test), for the benchmarks: one place that drives it.

`decode_tps_in_tui` is arm (c) of stream_overhead.py: the real model answering in the
session screen, the figure being the one rbyf stores. `open_session` starts the app on a
catalog with a given backend factory, for the ingest and memory benchmarks.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rbyf_tui.backends import BackendOptions  # noqa: E402
from rbyf_tui.opening import BackendFactory  # noqa: E402
from rbyf_tui.store import Store  # noqa: E402
from rbyf_tui.tui.app import RbyfApp  # noqa: E402
from rbyf_tui.tui.config import AppConfig  # noqa: E402
from rbyf_tui.tui.screens.session import SessionScreen  # noqa: E402


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 600.0,
                step: float = 0.02) -> None:
    """Wait, as a person would, without touching the app: Pilot.pause would also force a
    screen update on every poll, a cost the app does not have in real use."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(step)


def session_screen(app: RbyfApp) -> SessionScreen:
    return next(s for s in app.screen_stack if isinstance(s, SessionScreen))


@asynccontextmanager
async def open_session(work: Path, catalog_text: str, *, model: Path | None = None,
                       factory: BackendFactory | None = None, size: tuple[int, int] = (120, 40),
                       max_tokens: int | None = None
                       ) -> AsyncIterator[tuple[RbyfApp, Any, SessionScreen]]:
    """The app on a new session of `catalog_text`, once the session is open."""
    catalog = work / f"catalog-{time.monotonic_ns()}.toml"
    catalog.write_text(catalog_text, encoding="utf-8")
    config = AppConfig(db_path=work / f"tui-{time.monotonic_ns()}.duckdb",
                       options=BackendOptions(model=str(model) if model else None),
                       catalog=str(catalog), start=True, max_tokens=max_tokens,
                       handle_signals=False)
    if factory is not None:
        config.backend_factory = factory
    app = RbyfApp(config)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: any(isinstance(s, SessionScreen) for s in app.screen_stack))
        screen = session_screen(app)
        await until(pilot, lambda: screen.runner is not None or screen.failed is not None)
        if screen.failed:
            raise RuntimeError(screen.failed)
        yield app, pilot, screen


def decode_tps_in_tui(model: Path, catalog_text: str, work: Path
                      ) -> tuple[float, float, float]:
    """(c) of stream_overhead.py: the one task answered in the session screen; its decode
    tokens/s as stored, the answer's repaints a second while it streamed, and the UI
    thread's share of a core meanwhile (this thread: the app runs in it)."""

    async def run() -> tuple[float, float, float]:
        async with open_session(work, catalog_text, model=model) as (app, pilot, screen):
            # from the first text on the screen to the answer's end (not the Markdown of the
            # whole answer after it), polled slowly: every wake-up of this loop is CPU the
            # decoder does not get
            await until(pilot, lambda: screen.live is not None and bool(screen.live.chunks),
                        step=0.05)
            live, ended = screen.live, []
            started, cpu, repaints = time.perf_counter(), time.thread_time(), \
                screen.stream_repaints
            stop = live.stop

            def stopped() -> list[float]:
                ended.append((time.perf_counter(), time.thread_time()))
                return stop()

            live.stop = stopped  # type: ignore[method-assign]
            await until(pilot, lambda: screen.gen_key is None, step=0.5)
            elapsed = ended[0][0] - started
            repaints_per_s = (screen.stream_repaints - repaints) / elapsed
            ui_share = (ended[0][1] - cpu) / elapsed
            assert screen.runner is not None
            session_id = screen.runner.session_id
            db = app.config.db_path
        value = Store(db).db.read(lambda con: con.execute(
            "SELECT decode_tps FROM generations WHERE session_id = ? AND status = 'ok'",
            [session_id]).fetchone())
        if not value or value[0] is None:
            raise RuntimeError("the TUI stored no decode speed")
        return float(value[0]), repaints_per_s, ui_share

    return asyncio.run(run())


def catalog_toml(tasks: int, max_tokens: int, prompt: str = "Write.") -> str:
    """A catalog of `tasks` tasks without a warm-up."""
    rubric = "\n".join(f'{n} = "{n}"' for n in range(6))
    body = "".join(f'\n[[tasks]]\nkey = "t{i:03d}"\nprompt = "{prompt} {i}"\n'
                   for i in range(tasks))
    return (f'name = "bench"\nversion = "1"\n\n[defaults]\nmax_tokens = {max_tokens}\n'
            f"n_ctx = 2048\n\n[rubric]\n{rubric}\n{body}")
