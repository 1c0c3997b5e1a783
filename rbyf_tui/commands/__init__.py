"""What each `rbyf` command does. No Textual here except the lazy hand-off to the app."""

from __future__ import annotations

import argparse

from rbyf_tui.commands import (
    catalogs,
    imports,
    models,
    pull,
    rate,
    report,
    reports,
    run,
    serve,
    vote,
)


def dispatch(args: argparse.Namespace) -> int:
    handlers = {
        None: _tui,
        "battle": _tui,
        "blind": _tui,
        "run": run.main,
        "sessions": reports.sessions,
        "rate": rate.main,
        "vote": vote.main,
        "leaderboard": reports.leaderboard,
        "export": reports.export,
        "report": report.main,
        "catalogs": catalogs.main,
        "models": models.main,
        "merge": reports.merge,
        "import": imports.main,
        "pull": pull.main,
        "serve": serve.main,
    }
    return handlers[args.command](args)


def _tui(args: argparse.Namespace) -> int:
    from rbyf_tui.tui.launch import launch

    return launch(args)
