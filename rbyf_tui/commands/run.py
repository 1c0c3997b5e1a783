"""`rbyf run`: generate a whole catalog into a new session, headless."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time

from rbyf_tui import catalog as catalogs
from rbyf_tui import locations, native_log
from rbyf_tui.backends import make_backend, model_path
from rbyf_tui.backends.base import ModelInfo
from rbyf_tui.commands.common import backend_options, open_store, opt, pick_seed
from rbyf_tui.metrics import fmt
from rbyf_tui.runner import Outcome, Runner
from rbyf_tui.store import default_rater

DEFAULT_CATALOG = "rbyf-v2"


def progress_line(index: int, count: int, outcome: Outcome) -> str:
    f = outcome.figures
    head = f"[{index:>{len(str(count))}}/{count}] {outcome.task.title[:34]:<34}"
    if outcome.status == "error":
        return f"{head} error  {outcome.error}"
    return (
        f"{head} {outcome.status:<9} {outcome.finish_reason or '':<6} "
        f"TTFT {fmt(f.ttft_s, 's', 2)}  prompt {fmt(f.prompt_tps, ' t/s', 0)}  "
        f"decode {fmt(f.decode_tps, ' t/s')}  {f.completion_tokens or 0} tok  "
        f"{fmt(f.total_s, 's')}"
    )


def describe(model: ModelInfo) -> str:
    if model.backend == "openai":
        return f"model {model.extra.get('api_model')} at {model.extra.get('base_url')}"
    return (f"model {model.name} ({model.architecture}, {model.quantization}, chat format "
            f"{model.chat_format}, ctx {model.n_ctx}, {model.extra.get('threads')} threads)")


def main(args: argparse.Namespace) -> int:
    options = backend_options(args)
    options.check()
    if options.backend == "llama":
        options = dataclasses.replace(options, model=str(model_path(options)))
    catalog = catalogs.resolve(opt(args, "catalog") or DEFAULT_CATALOG)
    store = open_store(args)
    store.recover_interrupted()
    seed = pick_seed(options)
    n_ctx = options.n_ctx or catalog.n_ctx
    max_tokens = opt(args, "max_tokens")
    backend = make_backend(options, n_ctx, seed)
    quiet = (contextlib.nullcontext(sys.stderr) if options.verbose
             else native_log.fd2_to(locations.native_log_path()))
    with quiet:
        print(f"loading {options.model or options.base_url} …", flush=True)
        model = backend.load()
        try:
            runner = Runner.new_session(
                store, backend, catalog,
                settings=options.settings(n_ctx, seed, max_tokens, model),
                rater=opt(args, "rater") or default_rater(), origin="run",
                max_tokens=max_tokens, seed=seed)
            print(f"{describe(model)}; catalog {catalog.name} {catalog.version}; "
                  f"session {runner.session_id}", flush=True)
            return _generate_all(runner)
        finally:
            backend.close()


def _generate_all(runner: Runner) -> int:
    tasks = runner.catalog.all_tasks()
    started = time.monotonic()
    done = errors = 0
    try:
        for index, task in enumerate(tasks, start=1):
            outcome = runner.run_task(task)
            done += 1
            errors += outcome.status == "error"
            print(progress_line(index, len(tasks), outcome), flush=True)
    except KeyboardInterrupt:
        print(f"stopped: {done} of {len(tasks)} tasks generated and saved; the answer in "
              "progress was kept as cancelled", flush=True)
        print(runner.session_id, flush=True)
        return 130
    finally:
        runner.store.release_session(runner.session_id)
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    summary = f"done: {len(tasks)} tasks in {minutes}m{seconds:02d}s"
    if errors:
        summary += f", {errors} with errors"
    print(f"{summary}; rate them in the app (rbyf --resume {runner.session_id}) or with "
          f"rbyf rate --session {runner.session_id} --task KEY --score N", flush=True)
    print(runner.session_id, flush=True)
    return 0
