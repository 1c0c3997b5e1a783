"""The app in a browser: textual-serve runs `python -m rbyf_tui ...` once per browser tab.

textual_serve imports aiohttp, jinja2 and rich only (never Textual): Textual runs in the app
processes it starts. The page is rbyf's own (serve_page/index.html): it loads nothing from
off the machine, unlike textual-serve's stock page (Google Fonts).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import shlex
import socket
import sys
from asyncio.subprocess import Process
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

log = logging.getLogger("rbyf.serve")

PAGE_DIR = Path(__file__).resolve().parent / "serve_page"
QUIT_WAIT_S = 10.0  # for an app to end after each of: quit, SIGTERM
# A tab's rater, from the page's address (?rater=NAME): a name, never an option or a path.
RATER_RE = re.compile(r"[^\W_][\w .@+-]{0,63}")


def is_loopback(host: str) -> bool:
    """True when every address the host stands for is this machine's loopback."""
    if _loopback_literal(host):
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # a name that does not resolve is not known to be loopback
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def _loopback_literal(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def app_command(app_args: Sequence[str]) -> str:
    """The shell command textual-serve runs per tab: this Python, this rbyf. `exec`, so
    that the process textual-serve waits for (and signals) is the app, not a shell."""
    # -P: the folder serve was started in is not put on sys.path, so no file there (a
    # `duckdb.py`, say) can stand in for a module the app imports
    return "exec " + shlex.join([sys.executable, "-P", "-m", "rbyf_tui", *app_args])


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _ended(process: Process, timeout: float) -> bool:
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        return False
    return True


class AppProcess(AppService):
    """textual-serve's app process, whose stop waits until the process has ended: quit
    (what textual-serve sends), then SIGTERM (rbyf stores the answer in progress as
    cancelled and exits), then SIGKILL."""

    async def stop(self) -> None:
        process = self._process  # textual-serve's own handle on the process
        if process is not None and process.returncode is None:
            await self.send_meta({"type": "quit"})
            if not await _ended(process, QUIT_WAIT_S):
                process.terminate()
                if not await _ended(process, QUIT_WAIT_S):
                    process.kill()
                    await process.wait()
        await super().stop()  # the app's output has ended: this returns at once


class RbyfServer(Server):
    """textual-serve's Server with rbyf's page, its own start line, and a clean stop.

    Overridden: handle_index (the stock one builds every URL from `public_url`, i.e. the
    --host it listens on; with 0.0.0.0 a browser elsewhere cannot connect, so the URLs come
    from the Host the browser asked for), handle_websocket and on_shutdown (every app
    process ends with its tab or with the server), serve and on_startup (one line once the
    port listens, instead of a banner before).
    """

    def __init__(self, app_args: Sequence[str], host: str, port: int) -> None:
        super().__init__(app_command(app_args), host=host, port=port, title="rbyf",
                         templates_path=PAGE_DIR)
        self.app_args = list(app_args)
        self.loopback_only = is_loopback(host)
        self.tabs: dict[AppProcess, web.WebSocketResponse] = {}

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        # a tab that rates under its own name: /ws/rater/NAME (from the page's ?rater=NAME)
        app.router.add_get("/ws/rater/{rater}", self.handle_websocket)
        return app

    def tab_command(self, rater: str | None) -> str:
        if rater is None:
            return self.command
        if not RATER_RE.fullmatch(rater):
            raise web.HTTPBadRequest(text=f"rbyf serve: {rater!r} is not a rater name: use "
                                     "letters, digits, spaces and . @ + - (up to 64)")
        return app_command([*self.app_args, "--rater", rater])  # the last --rater counts

    async def on_startup(self, app: web.Application) -> None:
        pass  # textual-serve prints a banner here, before the port even listens

    def serve(self, debug: bool = False) -> None:
        """As textual-serve's, but the start line comes once the port listens, and aiohttp
        turns SIGINT and SIGTERM into its graceful exit itself."""
        self.debug = debug
        web.run_app(self._make_app(), host=self.host, port=self.port,
                    print=lambda _banner: self.listening())

    def listening(self) -> None:
        if self.host in ("0.0.0.0", "::"):  # every address of this machine
            where = (f"http://127.0.0.1:{self.port} here, or http://<this machine's "
                     f"address>:{self.port} from others,")
        else:
            where = f"http://{url_host(self.host)}:{self.port}"
        print(f"rbyf serve: open {where} in a browser (Ctrl+C stops)", flush=True)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: its own app process, as textual-serve's, but with AppProcess (which
        makes sure the process ends) and tracked, so that a stop can end every tab."""
        self.check_asker(request)
        command = self.tab_command(request.match_info.get("rater"))
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        service = AppProcess(command, write_bytes=websocket.send_bytes,
                             write_str=websocket.send_str, close=websocket.close,
                             download_manager=self.download_manager, debug=self.debug)
        self.tabs[service] = websocket
        try:
            await service.start(to_int(request.query.get("width", "80"), 80),
                                to_int(request.query.get("height", "24"), 24))
            await self._process_messages(websocket, service)
        except Exception:
            log.exception("a tab's app failed")
        finally:
            await service.stop()
            self.tabs.pop(service, None)
            await websocket.close()
        return websocket

    async def on_shutdown(self, app: web.Application) -> None:
        """aiohttp waits for open websockets before it stops, and textual-serve does not
        wait for its apps to end: stop every tab's app here, so that none outlives the
        server (it would hold the DB), then close the tabs."""
        tabs = list(self.tabs.items())
        await asyncio.gather(*(service.stop() for service, _ in tabs))
        for _, websocket in tabs:
            await websocket.close()

    def check_asker(self, request: web.Request) -> None:
        """Another web site open in the rater's browser must not drive the app: a websocket
        from a page of another origin is refused (browsers do not stop those), and so is,
        on loopback, a Host that is not a loopback address (a DNS rebinding)."""
        host = request.url.host or ""
        if self.loopback_only and host not in ("localhost", self.host) \
                and not _loopback_literal(host):
            raise web.HTTPForbidden(text=f"rbyf serve answers on loopback only, not {host}")
        origin = request.headers.get("Origin")
        if request.path.startswith("/ws") and origin and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text=f"rbyf serve: a page from {origin} may not connect")

    @aiohttp_jinja2.template("index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        self.check_asker(request)
        rater = request.query.get("rater") or None
        self.tab_command(rater)  # a bad name is refused here, before the page
        base = f"{request.scheme}://{request.host}"
        ws_scheme = "wss" if request.scheme == "https" else "ws"
        path = "/ws" if rater is None else f"/ws/rater/{quote(rater, safe='')}"
        return {
            "title": self.title if rater is None else f"{self.title} · {rater}",
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "static_url": f"{base}/static/",
            "websocket_url": f"{ws_scheme}://{request.host}{path}",
        }


def serve(app_args: Sequence[str], host: str, port: int) -> None:
    """Serve until Ctrl+C or SIGTERM. OSError when the address cannot be listened on."""
    RbyfServer(app_args, host, port).serve()
