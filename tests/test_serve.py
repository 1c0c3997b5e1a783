"""`rbyf serve`: the app in a real browser (Debian's Chromium), on the real demo model."""

from __future__ import annotations

import http.client
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rbyf_tui.cli import build_parser
from rbyf_tui.commands.serve import app_args
from rbyf_tui.serve import app_command, is_loopback

from browser import artefact, chromium
from conftest import REPO, assert_one_line_error, cli_env, run_cli
from helpers import MINI, Child, poll, rows
from pty_harness import CHECK_EVERY_S, generations, rated


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def serving(*args: str) -> Iterator[Child]:
    """`rbyf serve ARGS` in its own process group (as in a terminal, where Ctrl+C reaches
    the server and every app it started); whatever is left of the group is killed after."""
    proc = subprocess.Popen([sys.executable, "-m", "rbyf_tui", "serve", *args], cwd=REPO,
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        with Child(proc) as child:
            yield child
    finally:
        with_group(proc.pid, lambda: os.killpg(proc.pid, signal.SIGKILL))


def with_group(pgid: int, action: Callable[[], object]) -> bool:
    """Run `action` on a process group; False when no process of the group is left."""
    try:
        action()
    except ProcessLookupError:
        return False
    return True


def group_pids(pgid: int) -> list[int]:
    """The live processes of a process group (Linux's /proc; zombies left out)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


# --- the command line ----------------------------------------------------------------


def test_loopback_hosts() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.0.2.7", "2001:db8::1"):
        assert not is_loopback(host), host


def test_every_tab_gets_the_options_given_to_serve() -> None:
    args = build_parser().parse_args([
        "serve", "--db", "rel.duckdb", "--seed", "0", "--gpu-layers", "0", "--reuse-prefix",
        "--catalog", "my cat.toml", "--rater", "ann", "--port", "9000"])
    forwarded = app_args(args)
    assert forwarded[:2] == ["--db", str(Path("rel.duckdb").resolve())]
    assert forwarded[2:] == ["--catalog", "my cat.toml", "--gpu-layers", "0", "--seed", "0",
                             "--reuse-prefix", "--rater", "ann"]
    command = app_command(forwarded)
    assert command.startswith("exec ") and shlex.split(command)[1:5] == [
        sys.executable, "-P", "-m", "rbyf_tui"]
    assert shlex.split(command)[5:] == forwarded  # quoted for the shell


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7"])
def test_a_host_other_machines_reach_needs_the_flag(host: str) -> None:
    line = assert_one_line_error(run_cli("serve", "--host", host, timeout=60), code=2)
    assert host in line and "--allow-remote" in line


def test_with_the_flag_it_warns_and_the_page_uses_the_address_asked_for() -> None:
    port = free_port("0.0.0.0")
    with serving("--host", "0.0.0.0", "--port", str(port), "--allow-remote") as server:
        line = server.wait_line("rbyf serve: open", timeout=60)
        assert f":{port}" in line and "Ctrl+C" in line
        warning = poll(lambda: "".join(server.err), "the warning", timeout=10)
        assert "0.0.0.0" in warning and "anyone" in warning and "read everything" in warning
        # Asked for as 127.0.0.1 (not the 0.0.0.0 it listens on): the page's URLs say so.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            page = response.read().decode()
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page
        assert f"http://127.0.0.1:{port}/static/js/textual.js" in page
        assert "0.0.0.0" not in page and "googleapis" not in page
        assert "<title>rbyf</title>" in page
        os.killpg(server.proc.pid, signal.SIGTERM)
        out, err = server.finish()
    assert server.proc.returncode == 0, err
    assert len(err.strip().splitlines()) == 1  # the warning, nothing else
    assert out.strip() == line.strip()


def status_of(port: int, path: str, **headers: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_other_web_sites_cannot_drive_the_app() -> None:
    port = free_port()
    handshake = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    with serving("--port", str(port)) as server:
        server.wait_line("rbyf serve: open", timeout=60)
        assert status_of(port, "/") == 200
        # a page of another site opening the app's websocket (browsers allow that)
        assert status_of(port, "/ws", Origin="http://evil.example", **handshake) == 403
        # DNS rebinding: another site's name pointed at 127.0.0.1
        assert status_of(port, "/", Host=f"evil.example:{port}") == 403
        os.killpg(server.proc.pid, signal.SIGTERM)
        server.finish()
    assert server.proc.returncode == 0


def test_a_tab_rates_under_the_name_in_its_address() -> None:
    port = free_port()
    with serving("--port", str(port)) as server:
        server.wait_line("rbyf serve: open", timeout=60)
        url = f"http://127.0.0.1:{port}/?rater=ann%20lee"
        with urllib.request.urlopen(url, timeout=30) as response:
            page = response.read().decode()
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws/rater/ann%20lee"' in page
        assert "<title>rbyf · ann lee</title>" in page
        # a name is never an option, a path or markup
        for bad in ("--db%3Dx", "a/b", "%3Cb%3E", "_x"):
            assert status_of(port, f"/?rater={bad}") == 400, bad
            assert status_of(port, f"/ws/rater/{bad}") in (400, 404), bad
        os.killpg(server.proc.pid, signal.SIGTERM)
        server.finish()
    assert server.proc.returncode == 0


def test_a_busy_port_is_one_line_naming_it() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = assert_one_line_error(run_cli("serve", "--port", str(port), timeout=60))
    assert str(port) in line and "--port" in line


def test_a_bad_catalog_fails_before_serving() -> None:
    line = assert_one_line_error(run_cli("serve", "--catalog", "no-such-catalog",
                                         "--port", str(free_port()), timeout=60))
    assert "no-such-catalog" in line


# --- the real thing ------------------------------------------------------------------


class Tab:
    """A browser tab on the server: every request it makes, and what the app sent it
    (xterm.js draws on a canvas, so the screen text is read from the websocket frames)."""

    def __init__(self, browser: Any, url: str) -> None:
        self.requests: list[str] = []
        self.sockets: list[str] = []
        self.frames: list[bytes] = []
        self.page = browser.new_page(viewport={"width": 1100, "height": 700})
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("websocket", self._socket)
        self.page.goto(url)

    def _socket(self, websocket: Any) -> None:
        self.sockets.append(websocket.url)
        websocket.on("framereceived", lambda payload: self.frames.append(
            payload if isinstance(payload, bytes) else payload.encode()))

    def text(self) -> str:
        return b"".join(self.frames).decode("utf-8", "replace")

    def until(self, check: Callable[[], object], what: str, timeout: float = 120) -> None:
        """Let the browser run (its events arrive only then) until check() holds."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            self.page.wait_for_timeout(CHECK_EVERY_S * 1000)

    def keys(self, *keys: str) -> None:
        self.page.focus(".xterm-helper-textarea")  # xterm.js takes keys from there
        for key in keys:
            self.page.keyboard.press(key)


def has(db: Path, key: str, status: str) -> bool:
    return any(g[0] == key and g[2] == status for g in generations(db))


@pytest.mark.model
def test_a_rater_in_a_browser_rates_on_the_demo_model(tmp_path: Path, rbyf_home: Path) -> None:
    catalog = tmp_path / "mini.toml"
    catalog.write_text(MINI, encoding="utf-8")
    db = tmp_path / "served.duckdb"
    port = free_port()
    own = f"http://127.0.0.1:{port}/"
    with serving("--port", str(port), "--db", str(db), "--catalog", str(catalog),
                 "--max-tokens", "8") as server, chromium() as browser:
        start = server.wait_line("rbyf serve: open", timeout=60)
        pgid = server.proc.pid
        tab = Tab(browser, own + "?rater=browser-rater")  # this tab's rater
        # Home: the demo model and the catalog given to serve, drawn in the browser.
        tab.until(lambda: "gemma-3-270m" in tab.text() and "mini" in tab.text(),
                  "the home screen")
        tab.keys("n")  # a new session: the demo model on the chosen catalog
        tab.until(lambda: has(db, "warm", "ok"), "the warm-up's answer")
        tab.keys("s")  # rating the warm-up is optional
        tab.until(lambda: has(db, "a", "ok"), "task a's answer")
        tab.keys("4")

        def saved() -> bool:  # enter is refused until the screen hears the answer ended
            tab.keys("Enter")
            return rated(db) == [("a", 4)]

        tab.until(saved, "the rating of task a")
        tab.page.screenshot(path=artefact("serve.png"))
        assert "Task A" in tab.text()

        # A second tab is a second app on the same DB; closing the first ends its app.
        assert len(group_pids(pgid)) == 2  # the server and the first tab's app
        second = Tab(browser, own)
        second.until(lambda: "1/2 rated" in second.text(),  # the first tab's session
                     "a second home screen")
        assert len(group_pids(pgid)) == 3
        tab.page.close()
        poll(lambda: len(group_pids(pgid)) == 2, "the first tab's app to end", timeout=60)

        # SIGTERM to the server alone, a tab still open: the server ends every app it started.
        os.kill(pgid, signal.SIGTERM)
        out, err = server.finish(timeout=60)
        assert server.proc.returncode == 0, err
        assert (out, err) == (start, "")  # the apps' own output stays off the terminal
        assert poll(lambda: not with_group(pgid, lambda: os.killpg(pgid, 0)),
                    "every process of the server to end", timeout=10)
        for seen in (tab, second):  # nothing but this server: no fonts or scripts elsewhere
            assert seen.requests and all(url.startswith(own) for url in seen.requests)
            assert seen.sockets and all(s.startswith(f"ws://127.0.0.1:{port}/ws")
                                        for s in seen.sockets)
        assert any("RobotoMono" in url for url in tab.requests)

    duckdb.connect(str(db)).close()  # no app holds the file any more
    [rating] = rows(db, "SELECT g.task_key, r.score, r.rater FROM ratings r "
                        "JOIN generations g ON g.id = r.generation_id")
    assert rating == {"task_key": "a", "score": 4, "rater": "browser-rater"}
    answers = rows(db, "SELECT status, completion_tokens FROM generations")
    assert all(a["status"] != "running" for a in answers)
    assert all(a["completion_tokens"] is None or a["completion_tokens"] <= 8 for a in answers)
