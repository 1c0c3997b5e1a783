"""`rbyf rate`: rate the latest answer of one task of a session."""

from __future__ import annotations

import argparse

from rbyf_tui.commands.common import open_store
from rbyf_tui.errors import NotFoundError, RbyfError
from rbyf_tui.store import FINISHED


def main(args: argparse.Namespace) -> int:
    store = open_store(args)
    session = store.find_session(args.session)
    catalog = store.session_catalog(session)
    task = catalog.task(args.task)
    state = store.latest_generation(session.id, task.key)
    if state is None:
        raise NotFoundError(
            f"task '{task.key}' of session {session.id} has no answer yet: generate it first "
            f"(rbyf --resume {session.id})"
        )
    if state.status not in FINISHED:
        raise RbyfError(
            f"the latest answer to '{task.key}' in session {session.id} ended with status "
            f"{state.status}: regenerate it before rating (rbyf --resume {session.id})"
        )
    store.rate(state.id, args.score, args.remarks, args.rater or session.rater)
    note = " (warm-up: not counted)" if task.is_warmup else ""
    print(f"rated {task.key} in session {session.id}: {args.score}/5{note}")
    return 0
