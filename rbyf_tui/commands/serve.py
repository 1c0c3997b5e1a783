"""`rbyf serve`: the app in a browser, one app process per tab, all on one DB."""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from rbyf_tui import catalog as catalogs
from rbyf_tui import locations
from rbyf_tui.backends import BackendOptions
from rbyf_tui.errors import RbyfError, UsageError

# The options of the bare `rbyf` a tab's app is started with (cli._model_options, --rater).
FORWARDED = ("backend", "model", "base_url", "api_model", "first_token_timeout",
             "token_timeout", "catalog", "gpu_layers", "ctx", "threads", "seed",
             "chat_format", "reuse_prefix", "max_tokens", "rater", "verbose")


def app_args(args: argparse.Namespace) -> list[str]:
    """The app's command line: the options given to `rbyf serve`, with the DB as an
    absolute path so that every tab's app opens the same file."""
    out = ["--db", str(locations.db_path(getattr(args, "db", None)).resolve())]
    for name in FORWARDED:
        if not hasattr(args, name):  # the model options default to absent (SUPPRESS)
            continue
        value = getattr(args, name)
        flag = "--" + name.replace("_", "-")
        if value is True:
            out.append(flag)
        elif value is not None and value is not False:  # 0 is a value (--seed 0)
            out += [flag, str(value)]
    return out


def check(args: argparse.Namespace) -> None:
    """What the app would refuse, refused now in one line rather than in every tab."""
    options = BackendOptions.from_args(args)
    options.check()
    if getattr(args, "catalog", None):
        catalogs.resolve(args.catalog)
    if options.model and options.backend == "llama":  # a name or hf:REPO/FILE: its file
        from rbyf_tui import discovery, model_files, pull_terminal

        args.model = discovery.model_argument(options.model, pull_terminal.fetch)
        model_files.check_gguf(Path(args.model))


def main(args: argparse.Namespace) -> int:
    from rbyf_tui import serve

    remote = not serve.is_loopback(args.host)  # a name is looked up once
    if remote and not args.allow_remote:
        raise UsageError(f"rbyf serve: --host {args.host} is not this machine's loopback: "
                         "add --allow-remote to let other machines reach the app "
                         "(see rbyf serve --help)")
    check(args)
    if remote:
        print(f"rbyf serve: warning: listening on {args.host}: anyone who reaches this page "
              "can use the app as you: rate, read everything in the DB, load model files of "
              "this machine and download models", file=sys.stderr, flush=True)
    try:
        serve.serve(app_args(args), args.host, args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise RbyfError(f"port {args.port} on {args.host} is already in use: choose "
                            "another with --port") from None
        raise RbyfError(f"cannot listen on {args.host}:{args.port}: "
                        f"{exc.strerror or exc}") from None
    return 0
