"""RbyfApp: the full-screen app. Screens: home, session, summary (and the leaderboard)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any

from textual.app import App
from textual.screen import Screen

from rbyf_tui.opening import NewSession, ResumeSession, SessionStart
from rbyf_tui.store import Store
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.palette import BindingCommands

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _exit_soon(code: int, after_s: float = 3.0) -> None:
    """After a hang-up the terminal is gone and Textual may block writing to it; everything
    is stored by now (nothing is in flight), so leave for sure after a grace period."""

    def leave() -> None:
        time.sleep(after_s)
        log.warning("the terminal did not let go in %.0f s: exiting", after_s)
        logging.shutdown()
        os._exit(code)

    threading.Thread(target=leave, name="rbyf-exit", daemon=True).start()


class RbyfApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "rbyf"
    COMMANDS = App.COMMANDS | {BindingCommands}  # every screen's bindings, by name
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, config: AppConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        # A locked, corrupt or too-new DB fails here, in one line, before the screen changes.
        # Held open while the app runs (a rating is written in ~20 ms even in a big file); it
        # steps aside whenever another rbyf process asks for the file.
        self.store = Store(config.db_path, keep_open=True)
        self.store.ensure_ready()
        self.store.recover_interrupted()  # answers cut by a crash become 'interrupted'
        self.stop_signal: int | None = None
        self.quit_asked = False  # q while a rating was being written: leave once it is
        self._sessions_closed = False  # not `_closed`: Textual uses that name for the message pump

    # --- start ------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.config.handle_signals:
            self._install_signals()
        self.push_screen(self.first_screen())

    def first_screen(self) -> Screen[Any]:
        from rbyf_tui.tui.screens.home import HomeScreen
        from rbyf_tui.tui.screens.session import SessionScreen

        config = self.config
        if config.battle is not None:
            from rbyf_tui.tui.screens.battle import BattleScreen

            return BattleScreen(config.battle.catalog, config.rater, config.battle.models,
                                repeat=config.battle.repeat,
                                missing=config.battle.missing)
        if config.blind is not None:
            from rbyf_tui.tui.screens.blind import BlindScreen

            return BlindScreen(config.blind, config.rater)
        if config.resume:
            return SessionScreen(ResumeSession(config.resume, config.options))
        if config.start and config.catalog:
            from rbyf_tui import catalog as catalogs

            return SessionScreen(NewSession(config.options, catalogs.resolve(config.catalog)))
        return HomeScreen()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(signum, self.request_stop, signum)

    def _remove_signals(self) -> None:
        with contextlib.suppress(Exception):
            loop = asyncio.get_running_loop()
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    # --- stop and quit ------------------------------------------------------------------

    def _sessions(self) -> list[Any]:
        """Screens that generate: a stop waits for them to store what is in flight."""
        from rbyf_tui.tui.screens.battle import BattleScreen
        from rbyf_tui.tui.screens.comparison_run import ComparisonRunScreen
        from rbyf_tui.tui.screens.session import SessionScreen

        return [s for s in self.screen_stack
                if isinstance(s, SessionScreen | ComparisonRunScreen | BattleScreen)]

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None or self.quit_asked

    def request_stop(self, signum: int) -> None:
        """SIGTERM / SIGHUP: cancel the running answer, let the store finish, then exit."""
        log.info("stop signal %s", signal.Signals(signum).name)
        self.stop_signal = signum
        for screen in self._sessions():
            screen.stop_now()
        self.check_stop()

    def check_stop(self, quit_now: bool = False) -> None:
        """Exit once nothing is being written, if a stop was asked for."""
        self.quit_asked = self.quit_asked or quit_now
        if not self.stopping:
            return
        if any(screen.busy for screen in self._sessions()):
            return  # the screen calls again when its answer or rating is stored
        code = 0 if self.stop_signal is None else 128 + self.stop_signal
        self.close_sessions()
        if self.stop_signal is not None and self.config.handle_signals:
            _exit_soon(code)
        self.exit(return_code=code)

    async def action_quit(self) -> None:
        from rbyf_tui.tui.screens.session import SessionScreen

        if isinstance(self.screen, SessionScreen):
            self.screen.action_quit()
            return
        for screen in self._sessions():  # a comparison or a battle generating: stop it
            if not isinstance(screen, SessionScreen):
                screen.stop_now()
        self.check_stop(quit_now=True)

    def close_sessions(self) -> None:
        """Release the sessions this process generated into and free the models."""
        if self._sessions_closed or any(screen.busy for screen in self._sessions()):
            return
        self._sessions_closed = True
        self._remove_signals()
        for screen in self._sessions():
            screen.close_session()

    def on_unmount(self) -> None:
        self.close_sessions()
        self.store.close()

    # --- navigation ---------------------------------------------------------------------

    def open_leaderboard(self, catalog: str | None) -> None:
        from rbyf_tui.tui.screens.board.leaderboard import LeaderboardScreen

        self.push_screen(LeaderboardScreen(catalog=catalog))

    def go_home(self) -> None:
        """Back to the home screen (the session screen has closed its session)."""
        from rbyf_tui.tui.screens.home import HomeScreen

        if len(self.screen_stack) > 2 and isinstance(self.screen_stack[-2], HomeScreen):
            self.pop_screen()
            self.screen_stack[-1].refresh_lists()  # type: ignore[attr-defined]
        else:
            self.switch_screen(HomeScreen())

    def start_session(self, start: SessionStart) -> None:
        from rbyf_tui.tui.screens.session import SessionScreen

        self.push_screen(SessionScreen(start))
