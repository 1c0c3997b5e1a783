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
from rbyf_tui.backends import BackendOptions
from rbyf_tui.tui.config import AppConfig


def config_from_args(args: argparse.Namespace) -> AppConfig:
    options = BackendOptions.from_args(args)
    options.check()
    catalog = getattr(args, "catalog", None)
    if catalog:
        catalogs.resolve(catalog)  # a bad catalog fails now, in one line
    model_given = bool(options.model) or options.backend == "openai"
    resume = getattr(args, "resume", None)
    if options.model and not resume:
        model_files.check_gguf(Path(options.model))  # missing or not GGUF: one line now
    db_path = locations.db_path(getattr(args, "db", None))
    if resume:  # an unknown, ambiguous or complete session fails now, in one line
        from rbyf_tui import resume as resuming
        from rbyf_tui.store import Store

        resume = resuming.find_resumable(Store(db_path), resume).id
    return AppConfig(
        db_path=db_path,
        options=options,
        catalog=catalog,
        resume=resume,
        start=model_given and bool(catalog),
        max_tokens=getattr(args, "max_tokens", None),
        rater=getattr(args, "rater", None),
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
