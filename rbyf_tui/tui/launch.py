"""`rbyf` without a command: command-line options -> AppConfig -> the full-screen app.

Everything that can be checked before the screen changes is checked here, so bad input
ends in one line (RbyfError), as everywhere else in rbyf.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from pathlib import Path

from rbyf_tui import catalog as catalogs
from rbyf_tui import locations, model_files
from rbyf_tui.backends import BackendOptions
from rbyf_tui.errors import NotFoundError, UsageError
from rbyf_tui.tui.config import AppConfig, BattleStart


def battle_start(db_path: Path, args: argparse.Namespace) -> BattleStart:
    """`rbyf battle`: the catalog (given, else the one most models answered) and models,
    checked now so that a wrong name ends in one line."""
    from rbyf_tui.store import Store

    with Store(db_path) as store:
        answered = dict(store.answered_catalogs())
        catalog = getattr(args, "catalog", None)
        if catalog is None:
            if not answered:
                raise NotFoundError("no answers to battle over: generate some first, e.g. "
                                    "rbyf run --model A.gguf --model B.gguf")
            catalog = max(answered, key=lambda name: (answered[name], name))
        elif catalog not in answered:
            raise NotFoundError(f"no answers on catalog {catalog!r}; catalogs with answers: "
                                f"{', '.join(answered) or 'none'}")
        names = getattr(args, "models", None) or []
        models = None
        if names:
            found = store.models_named(names)
            missing = [n for n in names if not any(n in pair for pair in found)]
            if missing:
                raise NotFoundError(f"no model named {missing[0]!r}; see rbyf leaderboard "
                                    "for the names")
            models = sorted({model_id for model_id, _ in found})
            answers, _ = store.battle_state(catalog, models)
            answering = {a.model_id for a in answers if a.generation_id is not None}
            if len(answering) < 2:
                raise UsageError(f"a battle needs two models or more with answers on "
                                 f"{catalog!r}; of those named, {len(answering)} answered it")
        elif answered[catalog] < 2:
            raise UsageError(f"only one model answered catalog {catalog!r}: a battle needs "
                             "two; generate another with rbyf run --model B.gguf --catalog "
                             f"{catalog}")
    return BattleStart(catalog, models, bool(getattr(args, "repeat", False)),
                       getattr(args, "missing", None) or "skip")


def blind_start(db_path: Path, args: argparse.Namespace) -> str:
    """`rbyf blind [ID]`: the comparison (an id or prefix; default the newest)."""
    from rbyf_tui.store import Store

    with Store(db_path) as store:
        prefix = getattr(args, "comparison", None)
        if prefix:
            found = store.find_comparison(prefix)
            if found is None:
                raise NotFoundError(f"no comparison {prefix}; list them with: rbyf sessions")
            return found.id
        newest = store.comparisons()
        if not newest:
            raise NotFoundError("no comparison yet: start one with rbyf run --model A.gguf "
                                "--model B.gguf")
        return newest[0].id


def config_from_args(args: argparse.Namespace) -> AppConfig:
    options = BackendOptions.from_args(args)
    options.check()
    db_path = locations.db_path(getattr(args, "db", None))
    if options.model and options.backend == "llama":  # a name or hf:REPO/FILE: its file
        from rbyf_tui import discovery, pull_terminal

        options = dataclasses.replace(options, model=discovery.model_argument(
            options.model, pull_terminal.fetch))
    command = getattr(args, "command", None)
    catalog = getattr(args, "catalog", None) if command is None else None
    if catalog:
        catalogs.resolve(catalog)  # a bad catalog fails now, in one line
    model_given = bool(options.model) or options.backend == "openai"
    resume = getattr(args, "resume", None)
    if options.model and not resume:
        model_files.check_gguf(Path(options.model))  # missing or not GGUF: one line now
    battle = battle_start(db_path, args) if command == "battle" else None
    blind = blind_start(db_path, args) if command == "blind" else None
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
        battle=battle,
        blind=blind,
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
