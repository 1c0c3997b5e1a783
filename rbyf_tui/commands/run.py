"""`rbyf run`: generate a whole catalog into a new session (or go on with one), headless."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from rbyf_tui import catalog as catalogs
from rbyf_tui import comparison as comparing
from rbyf_tui import discovery, locations, pull_terminal, stop_signals
from rbyf_tui.backends import BackendOptions, llama_log
from rbyf_tui.backends.base import ModelInfo
from rbyf_tui.commands.common import fit, open_store, opt
from rbyf_tui.errors import RbyfError, UsageError
from rbyf_tui.metrics import fmt
from rbyf_tui.opening import NewSession, Opening, ResumeSession, SessionStart, open_session
from rbyf_tui.runner import Outcome, Runner
from rbyf_tui.store import Store

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
    _resolve_models(args)
    comparison_id = _comparison(store, args)
    if comparison_id:
        return _compare(store, args, comparison_id)
    options = BackendOptions.from_args(_one_model(args))
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


def _models(args: argparse.Namespace) -> list[str]:
    given = opt(args, "model") or []
    return [given] if isinstance(given, str) else list(given)


def _resolve_models(args: argparse.Namespace) -> None:
    """--model values as files: a name (Ollama's, one `rbyf models` lists, a unique
    prefix) or hf:REPO/FILE becomes its path."""
    models = _models(args)
    if models and opt(args, "backend") != "openai":  # there --model is refused anyway
        args.model = [discovery.model_argument(m, pull_terminal.fetch) for m in models]


def _one_model(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments of a one-model run: --model as one path."""
    single = argparse.Namespace(**vars(args))
    models = _models(args)
    if models:
        single.model = models[0]
    elif hasattr(single, "model"):
        del single.model
    return single


def _comparison(store: Store, args: argparse.Namespace) -> str | None:
    """The comparison this run plans (several models) or resumes, else None."""
    models, listed = _models(args), opt(args, "models")
    resume_id = opt(args, "resume")
    if resume_id:
        found = store.find_comparison(resume_id)
        if found and (models or listed):
            raise UsageError(f"comparison {found.id} goes on with the models it began with: "
                             "drop --model and --models")
        return found.id if found else None
    if len(models) < 2 and not listed:
        return None
    defaults = BackendOptions.from_args(argparse.Namespace(
        **{k: v for k, v in vars(args).items() if k != "model"}))
    specs = [comparing.spec_for_file(m, defaults) for m in models]
    if listed:
        specs += comparing.load_model_list(Path(listed), defaults)
    catalog = catalogs.resolve(opt(args, "catalog") or DEFAULT_CATALOG)
    return comparing.plan_comparison(store, catalog, specs, seed=opt(args, "seed"),
                                     origin="run",
                                     settings={"max_tokens": opt(args, "max_tokens")})


def _compare(store: Store, args: argparse.Namespace, comparison_id: str) -> int:
    comparison = store.comparison(comparison_id)
    count = len(comparison.members)
    say(f"comparison {comparison.id}: {count} models on catalog {comparison.catalog_name}, "
        f"seed {comparison.seed}")
    failed: list[str] = []

    def show(event: comparing.Event) -> None:
        if isinstance(event, comparing.ModelStarting):
            again = " (going on)" if event.resumed else ""
            say(f"model {event.position + 1}/{count}: {event.label}{again}")
        elif isinstance(event, comparing.TaskDone):
            say("  " + progress_line(event.index, event.count, event.outcome))
        elif isinstance(event, comparing.ModelDone):
            what = ("every task already answered" if event.already
                    else f"{event.generated} answer{'' if event.generated == 1 else 's'}" + (
                        f", {event.errors} with errors" if event.errors else ""))
            say(f"model {event.position + 1}/{count} done: {event.label}: {what}; "
                f"session {event.session_id}")
        else:
            failed.append(event.label)
            say(f"model {event.position + 1}/{count} failed: {event.label}: {event.error}")

    quiet = (contextlib.nullcontext(sys.stderr) if opt(args, "verbose")
             else llama_log.fd2_to(locations.native_log_path()))
    try:
        with quiet:
            comparing.run_comparison(store, comparison.id, on_event=show,
                                     max_tokens=opt(args, "max_tokens"),
                                     rater=opt(args, "rater"),
                                     verbose=bool(opt(args, "verbose")))
    except KeyboardInterrupt:
        say(f"stopped: what is answered is saved; go on with: rbyf run --resume "
            f"{comparison.id}")
        say(comparison.id)
        raise
    if failed:
        say(comparison.id)
        raise RbyfError(f"{len(failed)} of {count} models failed ({', '.join(failed)}): fix "
                        f"them, then go on with rbyf run --resume {comparison.id}")
    say(f"done: comparison {comparison.id}; rate the answers blind (rbyf blind "
        f"{comparison.id[:8]}) or vote on pairs (rbyf battle --catalog "
        f"{comparison.catalog_name})")
    say(comparison.id)
    return 0


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
