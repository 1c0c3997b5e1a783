"""`rbyf` without a command: command-line options -> AppConfig -> the full-screen app.

Everything that can be checked before the screen changes is checked here, so bad input
ends in one line (RbyfError), as everywhere else in rbyf.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from rbyf_tui import catalog as catalogs
from rbyf_tui import locations, model_files
from rbyf_tui.commands.common import backend_options, opt
from rbyf_tui.errors import RbyfError
from rbyf_tui.tui.config import AppConfig


def config_from_args(args: argparse.Namespace) -> AppConfig:
    options = backend_options(args)
    options.check()
    catalog = opt(args, "catalog")
    if catalog:
        catalogs.resolve(catalog)  # a bad catalog fails now, in one line
    model_given = bool(options.model) or options.backend == "openai"
    if options.model and not opt(args, "resume"):
        model_files.check_gguf(Path(options.model))  # missing or not GGUF: one line now
    resume = opt(args, "resume")
    if resume:  # an unknown, ambiguous or complete session fails now, in one line
        from rbyf_tui.store import Store

        found = Store(locations.db_path(opt(args, "db"))).find_session(resume)
        if found.status == "complete":
            raise RbyfError(f"session {found.id} is complete: every task is rated; start a "
                            "new one, or rate again with rbyf rate")
        resume = found.id
    return AppConfig(
        db_path=locations.db_path(opt(args, "db")),
        options=options,
        catalog=catalog,
        resume=resume,
        start=model_given and bool(catalog),
        max_tokens=opt(args, "max_tokens"),
        rater=opt(args, "rater"),
        offer_demo=model_files.demo_available(),  # assembled on first use, not here
    )


def launch(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from rbyf_tui.tui import terminal
    from rbyf_tui.tui.app import RbyfApp

    log_path = locations.native_log_path()
    with terminal.screen_apart_from_fd2(log_path) as driver:
        app = RbyfApp(config, driver_class=driver)  # a locked or too-new DB fails here
        app.run()
    code = app.return_code  # what exit(return_code=...) set; run() returns the result
    if app.stop_signal is not None:
        with contextlib.suppress(OSError):
            print(f"rbyf: stopped by signal {app.stop_signal}; everything rated is saved; "
                  "resume with `rbyf` (home) or `rbyf --resume ID`", file=sys.stderr)
    return int(code or 0)
