"""`rbyf run`: generate a whole catalog into a new session (or go on with one), headless."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from rbyf_tui import catalog as catalogs
from rbyf_tui import locations, stop_signals
from rbyf_tui.backends import BackendOptions, llama_log
from rbyf_tui.backends.base import ModelInfo
from rbyf_tui.commands.common import fit, open_store, opt
from rbyf_tui.metrics import fmt
from rbyf_tui.opening import NewSession, Opening, ResumeSession, SessionStart, open_session
from rbyf_tui.runner import Outcome, Runner

DEFAULT_CATALOG = "rbyf-v2"


def progress_line(index: int, count: int, outcome: Outcome) -> str:
    f = outcome.figures
    head = f"[{index:>{len(str(count))}}/{count}] {fit(outcome.task.title, 34)}"
    if outcome.status == "error":
        return f"{head} error  {outcome.error}"
    line = (
        f"{head} {outcome.status:<9} {outcome.finish_reason or '':<6} "
        f"TTFT {fmt(f.ttft_s, 's', 2)}  prompt {fmt(f.prompt_tps, ' t/s', 0)}  "
        f"decode {fmt(f.decode_tps, ' t/s')}  {f.completion_tokens or 0} tok  "
        f"{fmt(f.total_s, 's')}"
    )
    if outcome.checks:  # a hint for the morning's rating, not a score
        line += f"  checks {sum(r.passed for r in outcome.checks)}/{len(outcome.checks)}"
    return line


def describe(model: ModelInfo) -> str:
    if model.backend == "openai":
        return f"model {model.extra.get('api_model')} at {model.extra.get('base_url')}"
    return (f"model {model.name} ({model.architecture}, {model.quantization}, chat format "
            f"{model.chat_format}, ctx {model.n_ctx}, {model.extra.get('threads')} threads)")


def say(text: str) -> None:
    """Print progress; after SIGHUP the terminal is gone, and the work matters more."""
    with contextlib.suppress(OSError):
        print(text, flush=True)


def main(args: argparse.Namespace) -> int:
    stop_signals.install()
    try:
        return _main(args)
    except stop_signals.Stopped as stop:
        with contextlib.suppress(OSError):
            print(f"rbyf: stopped by {stop}", file=sys.stderr)
        return stop.exit_code


def _main(args: argparse.Namespace) -> int:
    store = open_store(args)
    store.recover_interrupted()
    options = BackendOptions.from_args(args)
    options.check()
    session_id = opt(args, "resume")
    start: SessionStart = (
        ResumeSession(session_id, options) if session_id
        else NewSession(options, catalogs.resolve(opt(args, "catalog") or DEFAULT_CATALOG)))
    opening = Opening(store, "run", rater=opt(args, "rater"),
                      max_tokens=opt(args, "max_tokens"), on_loading=say)
    quiet = (contextlib.nullcontext(sys.stderr) if options.verbose
             else llama_log.fd2_to(locations.native_log_path()))
    with quiet:
        opened = open_session(opening, start)
        runner = opened.runner
        try:
            catalog = runner.catalog
            say(f"{describe(opened.model)}; catalog {catalog.name} {catalog.version}; "
                f"session {runner.session_id}")
            return _generate(runner)
        finally:
            opened.backend.close()


def _generate(runner: Runner) -> int:
    tasks = runner.catalog.all_tasks()
    todo = {t.key for t in runner.pending_tasks()}
    started = time.monotonic()
    errors = 0
    if len(todo) < len(tasks):
        say(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} tasks already answered")
    try:
        for index, task in enumerate(tasks, start=1):
            if task.key not in todo:
                continue
            outcome = runner.run_task(task)
            errors += outcome.status == "error"
            say(progress_line(index, len(tasks), outcome))
    except KeyboardInterrupt:
        done = _answered(runner)
        say(f"stopped: {done} of {len(tasks)} tasks answered and saved; the answer in "
            f"progress was kept as cancelled; go on with: rbyf run --resume {runner.session_id}")
        say(runner.session_id)
        raise
    finally:
        with contextlib.suppress(Exception):
            runner.store.release_session(runner.session_id)
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    summary = f"done: {len(todo)} tasks in {minutes}m{seconds:02d}s"
    if errors:
        summary += f", {errors} with errors"
    say(f"{summary}; rate them in the app (rbyf --resume {runner.session_id}) or with "
        f"rbyf rate --session {runner.session_id} --task KEY --score N")
    say(runner.session_id)
    return 0


def _answered(runner: Runner) -> int:
    states = runner.store.task_states(runner.session_id)
    return sum(1 for s in states.values() if s.status == "ok")
