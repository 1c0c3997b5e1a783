"""The real `rbyf` in a pseudo-terminal (pexpect), and the DB rows the tests check."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pexpect

from rbyf_tui.errors import StoreError
from rbyf_tui.store import Store

from conftest import REPO, cli_env
from helpers import MINI, described

LLAMA_WORDS = ("llama_model_loader", "load_tensors", "llama_context", "print_info")


def spawn(home: Path, *args: str) -> pexpect.spawn:
    env = cli_env(home, TERM="xterm-256color")
    return pexpect.spawn(sys.executable, ["-m", "rbyf_tui", *args], cwd=str(REPO), env=env,
                         dimensions=(24, 80), encoding="utf-8", codec_errors="replace",
                         timeout=120)


# Most checks open the DB, which asks the app to let go of it; more often than this starves
# the app's writes and, on a busy machine, llama.cpp's threads (measured: 1 token/s at 5 Hz).
CHECK_EVERY_S = 1.0


def wait_for(child: pexpect.spawn, check: Callable[[], object], timeout: float = 120) -> None:
    """Keep the terminal drained until check() holds; fail naming the check at the deadline."""
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s (the app is "
                                 f"{'running' if child.isalive() else 'gone'}) waiting for: "
                                 f"{described(check)}")
        drain_for(child, CHECK_EVERY_S)


def drain_for(child: pexpect.spawn, seconds: float) -> None:
    """Read what the app writes for `seconds` (a full terminal would block it)."""
    until = time.monotonic() + seconds
    while (left := until - time.monotonic()) > 0:
        try:
            child.read_nonblocking(65536, timeout=min(left, 0.2))
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            time.sleep(min(left, 0.05))


def quit_app(child: pexpect.spawn, timeout: float = 60) -> None:
    """q, and wait for the app to end. The last answer is stored a moment before the screen
    hears of it; a q in that moment asks first (a generation is running), so say yes."""
    child.send("q")
    end = time.monotonic() + timeout
    while child.isalive():
        if time.monotonic() > end:
            raise AssertionError(f"the app still runs {timeout:.0f} s after q")
        try:
            child.expect(r"Quit rbyf\?", timeout=0.5)
            child.send("y")
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            time.sleep(0.05)
    child.close()


ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def shown(screen: Path) -> str:
    """What the terminal got so far (the `screen` log), its escape sequences taken out."""
    return ANSI.sub("", screen.read_text(encoding="utf-8"))


def rate_when_done(child: pexpect.spawn, screen: Path, title: str, score: int) -> None:
    """Give a task's answer `score` once the screen shows it done: the DB has the answer a
    moment before the screen hears of it, and an enter in that moment is refused (the
    answer is still being written)."""
    wait_for(child, lambda: f"{title} · done" in shown(screen), timeout=300)
    child.send(str(score))
    child.send("\r")


def generations(db: Path) -> list[tuple[str, int, str, str]]:
    """Every answer so far; none while the app holds the file (any other error is raised)."""
    if not db.exists():
        return []
    try:
        return Store(db, wait_s=5).db.read(lambda con: con.execute(
            "SELECT task_key, attempt, status, response FROM generations "
            "ORDER BY started_at").fetchall())
    except StoreError as exc:
        if "is held by" not in str(exc):
            raise
        return []


def rated(db: Path) -> list[tuple[str, int]]:
    return Store(db).db.read(lambda con: con.execute(
        "SELECT g.task_key, r.score FROM ratings r JOIN generations g "
        "ON g.id = r.generation_id ORDER BY r.created_at").fetchall())


def start(tmp_path: Path, demo_model: Path, max_tokens: int | None,
          catalog_text: str = MINI) -> tuple[pexpect.spawn, Path, Path]:
    """The app on a new session of `catalog_text`; max_tokens None: the catalog's own caps."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    catalog = tmp_path / "mini.toml"
    catalog.write_text(catalog_text, encoding="utf-8")
    db = home / "rbyf.duckdb"
    cap = [] if max_tokens is None else ["--max-tokens", str(max_tokens)]
    child = spawn(home, "--model", str(demo_model), "--catalog", str(catalog), *cap)
    child.logfile_read = (tmp_path / "screen.txt").open("w", encoding="utf-8")
    return child, home, db


def until_tokens_shown(child: pexpect.spawn, screen: Path) -> int:
    """Wait until the stats pane counts tokens in what the terminal got from now on (the
    `screen` log); returns where now was in that log."""
    seen = len(screen.read_text(encoding="utf-8"))
    wait_for(child, lambda: re.search(r"– \+ +[1-9]",
                                      screen.read_text(encoding="utf-8")[seen:]) is not None)
    return seen
