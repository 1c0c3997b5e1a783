"""The `rbyf` command. Heavy modules (DuckDB, llama.cpp, Textual) load only when needed."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rbyf_tui import __version__
from rbyf_tui.errors import RbyfError, UsageError

log = logging.getLogger("rbyf")

DESCRIPTION = """Rate local LLMs on your own prompt catalog, live, in the terminal.

Without a command, rbyf opens the full-screen app."""

EPILOG = """commands:
  run          generate every task of a catalog into a new session (headless), or
               compare several models (--model A --model B, or --models FILE)
  sessions     list sessions with their progress
  rate         rate one task of a session
  vote         record one pairwise battle's verdict between two answers
  battle       vote on pairs of anonymous answers (opens the app)
  blind        rate a comparison's answers blind (opens the app)
  leaderboard  rank every rated model
  export       write sessions as csv, seed-csv, jsonl, parquet or md
  report       write the results as one HTML page (or Markdown with SVG charts) to share
  merge        bring other raters' sessions into one DB file
  catalogs     list or validate prompt catalogs
  models       list the GGUF models on this machine (Ollama, LM Studio, Hugging Face
               cache, your folders) with their facts
  import       bring in the old scripts' CSV and log files
  pull         list a Hugging Face repo's GGUF models, or download one into the HF cache
  serve        the app in a browser (one app per tab, all on the same DB)

Files: the DB is --db, else $RBYF_DB, else the user data dir; $RBYF_HOME moves everything."""


class Parser(argparse.ArgumentParser):
    """Usage errors in one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _score(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 5 or text.strip() != str(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a score: use a whole number 0 to 5")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: use a number 1 to 65535")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _zone(text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time zone: use an IANA name such as Europe/Berlin") from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS,
                        help="the DuckDB file (default: $RBYF_DB, else the user data dir)")
    parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show llama.cpp's own output and debug logs")


MODEL_HELP = ("a .gguf file, an Ollama name (qwen2.5:1.5b), a name from `rbyf models` or "
              "its unique prefix, or hf:REPO/FILE from the Hugging Face cache (default: "
              "the demo model, when installed)")


def _model_options(parser: argparse.ArgumentParser, many: bool = False) -> None:
    group = parser.add_argument_group("model")
    add = group.add_argument
    if many:  # `rbyf run`: several compare the models (one session each, one seed)
        add("--model", metavar="MODEL", action="append", default=argparse.SUPPRESS,
            help=f"{MODEL_HELP}; repeat it to compare models: each generates the catalog "
                 "in turn with the same seed")
        add("--models", metavar="FILE", default=argparse.SUPPRESS,
            help="compare the models listed in a TOML file: [[model]] entries with path "
                 "or base_url, and label, api_model, api_key_env, chat_format, ctx, "
                 "threads, gpu_layers, reuse_prefix")
    else:
        add("--model", metavar="MODEL", default=argparse.SUPPRESS, help=MODEL_HELP)
    add("--backend", choices=("llama", "openai"), default=argparse.SUPPRESS,
        help="llama: run the .gguf in-process (default); openai: an OpenAI-compatible "
             "server (llama-server, vLLM, Ollama); its API key comes from $RBYF_API_KEY "
             "or $OPENAI_API_KEY")
    add("--base-url", metavar="URL", default=argparse.SUPPRESS,
        help="the server's address, e.g. http://127.0.0.1:8080/v1")
    add("--api-model", metavar="NAME", default=argparse.SUPPRESS,
        help="the served model's id (default: the only one the server lists)")
    add("--first-token-timeout", type=_seconds, metavar="S", default=argparse.SUPPRESS,
        help="with --backend openai: give up when the server sends nothing for S seconds "
             "after a request (default 600)")
    add("--token-timeout", type=_seconds, metavar="S", default=argparse.SUPPRESS,
        help="with --backend openai: give up when the answer stalls for S seconds "
             "(default 120)")
    add("--catalog", metavar="NAME|PATH", default=argparse.SUPPRESS,
        help="a catalog name (see `rbyf catalogs`) or a .toml file (default: rbyf-v2)")
    add("--gpu-layers", type=_non_negative, metavar="N", default=argparse.SUPPRESS,
        help="layers to offload to the GPU (needs a GPU build of llama-cpp-python)")
    add("--ctx", type=_positive, metavar="N", default=argparse.SUPPRESS,
        help="context size in tokens (default: the catalog's n_ctx)")
    add("--threads", type=_positive, metavar="N", default=argparse.SUPPRESS,
        help="CPU threads for prompt and decode (default: all cores)")
    add("--seed", type=_non_negative, metavar="N", default=argparse.SUPPRESS,
        help="sampling seed (default: a random one, recorded with the session)")
    add("--chat-format", metavar="F", default=argparse.SUPPRESS,
        help="chat format when the GGUF has no template (e.g. chatml, llama-3, gemma)")
    add("--reuse-prefix", action="store_true", default=argparse.SUPPRESS,
        help="keep the KV cache between tasks (TTFT then excludes the shared prefix)")
    add("--max-tokens", type=_positive, metavar="N", default=argparse.SUPPRESS,
        help="cap every task's answer at N tokens")
    add("--rater", metavar="NAME", default=argparse.SUPPRESS,
        help="who rates (default: $RBYF_RATER, else your user name)")


def build_parser() -> Parser:
    parser = Parser(prog="rbyf", description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rbyf {__version__}")
    _common(parser)
    _model_options(parser)
    parser.add_argument("--resume", metavar="ID", default=argparse.SUPPRESS,
                        help="reopen an unfinished session")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    run = sub.add_parser("run", help="generate every task of a catalog into a new session",
                         description="Generate every task of a catalog (warm-up first) into a "
                         "new session, one progress line per task; prints the session id last. "
                         "With several models (--model repeated, or --models FILE), a "
                         "comparison: each model in turn, one session each, the same seed "
                         "and sampling; prints the comparison id last.")
    _common(run)
    _model_options(run, many=True)
    run.add_argument("--resume", metavar="ID", default=argparse.SUPPRESS,
                     help="go on with an unfinished session or comparison: same catalog, "
                          "models and settings; only tasks without an answer are generated")

    sessions = sub.add_parser("sessions", help="list sessions with their progress")
    _common(sessions)
    sessions.add_argument("--json", action="store_true", help="print JSON")
    sessions.add_argument("--failures", action="store_true",
                          help="list the model loads that failed instead, newest first")

    rate = sub.add_parser("rate", help="rate one task of a session",
                          description="Rate the latest answer of one task of a session.")
    _common(rate)
    rate.add_argument("--session", required=True, metavar="ID", help="session id or prefix")
    rate.add_argument("--task", required=True, metavar="KEY", help="task key")
    rate.add_argument("--score", required=True, type=_score, metavar="0-5")
    rate.add_argument("--remarks", default="", metavar="TEXT")
    rate.add_argument("--rater", default=None, metavar="NAME")

    battle = sub.add_parser(
        "battle", help="vote on pairs of anonymous answers, in the app",
        description="Open the app on pairwise battles: two models' answers to one task side "
                    "by side, names hidden until you vote (left better, right better, tie, "
                    "both bad). Answers come from the store: generate them first.")
    _common(battle)
    battle.add_argument("--catalog", metavar="NAME", default=None,
                        help="the catalog whose answers meet (default: the one most models "
                             "answered)")
    battle.add_argument("--models", nargs="+", metavar="NAME", default=None,
                        help="only these models (names or ids; default: every model that "
                             "answered the catalog)")
    battle.add_argument("--repeat", action="store_true",
                        help="also pairs and tasks you have voted on before")
    battle.add_argument("--missing", choices=("skip", "generate"), default="skip",
                        help="a task a model has not answered: skip it (default), or "
                             "generate its answer on demand (the model loads)")
    battle.add_argument("--rater", default=None, metavar="NAME",
                        help="who votes (default: $RBYF_RATER, else your user name)")

    blind = sub.add_parser(
        "blind", help="rate a comparison's answers blind, in the app",
        description="Open the app on a comparison's blind rating: each task's answers "
                    "under the letters A, B, C…, names and speed hidden until you have "
                    "rated them all.")
    _common(blind)
    blind.add_argument("comparison", nargs="?", metavar="ID",
                       help="comparison id or prefix (default: the newest)")
    blind.add_argument("--rater", default=None, metavar="NAME",
                       help="who rates (default: $RBYF_RATER, else your user name)")

    vote = sub.add_parser("vote", help="record one pairwise battle's verdict",
                          description="Record which of two answers to the same task of one "
                          "catalog (from two models) is better; prints the vote's id.")
    _common(vote)
    vote.add_argument("--left", required=True, metavar="GEN",
                      help="the answer shown on the left (generation id or unique prefix)")
    vote.add_argument("--right", required=True, metavar="GEN",
                      help="the answer shown on the right (generation id or unique prefix)")
    vote.add_argument("--verdict", required=True, choices=("left", "right", "tie", "both_bad"))
    vote.add_argument("--remark", default="", metavar="TEXT")
    vote.add_argument("--rater", default=None, metavar="NAME",
                      help="who votes (default: $RBYF_RATER, else your user name)")

    board = sub.add_parser("leaderboard", help="rank every rated model",
                           description="Rank every rated model. Several --db files are read "
                           "together, read-only (a team's stores).")
    board.add_argument("--db", metavar="PATH", action="append", default=argparse.SUPPRESS,
                       help="a DuckDB file; repeat to rank across several")
    board.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS)
    board.add_argument("--by-rater", action="store_true",
                       help="also each rater's mean per model, and how raters agree (mean "
                            "absolute difference and quadratic-weighted kappa)")
    board.add_argument("--catalog", metavar="NAME", help="only this catalog")
    board.add_argument("--rater", metavar="NAME",
                       help="only this rater's ratings (votes, with --method bt)")
    board.add_argument("--format", choices=("table", "csv", "json"), default="table")
    board.add_argument("--method", choices=("score", "bt"), default="score",
                       help="score: mean 0-5 rating per model (default); bt: Bradley-Terry "
                            "ratings from pairwise battle votes, Elo-like scale")
    board.add_argument("--both-bad", choices=("tie", "drop"), default="tie",
                       help="with --method bt: count a 'both bad' vote as a tie (default) "
                            "or leave it out")

    report = sub.add_parser(
        "report", help="write the results as one HTML page, or Markdown, to share",
        description="Write one self-contained HTML file (it makes no request anywhere: it "
        "opens offline and can be mailed): per catalog the leaderboard with intervals, the "
        "battles, the models x tasks heat map, quality against speed, each task's prompt and "
        "the models' answers side by side with scores, remarks, figures, thinking and checks, "
        "and the sessions' model facts, settings and hardware. --format md writes Markdown "
        "with the charts as SVG files beside it, for a blog post.")
    report.add_argument("--db", metavar="PATH", action="append", default=argparse.SUPPRESS,
                        help="DB file (repeat to report several raters' files together)")
    report.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS)
    report.add_argument("--catalog", metavar="NAME",
                        help="only this catalog (default: every catalog with ratings or votes)")
    report.add_argument("--models", nargs="+", metavar="NAME",
                        help="only these models (names as `rbyf leaderboard` shows, or ids)")
    report.add_argument("--rater", metavar="NAME", help="only this rater's ratings and votes")
    report.add_argument("--format", choices=("html", "md"), default=None,
                        help="html (default; md when --out ends in .md)")
    report.add_argument("--out", metavar="PATH",
                        help="file to write (default: report.html or report.md here)")

    export = sub.add_parser("export", help="write sessions as csv, seed-csv, jsonl, parquet, md")
    _common(export)
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", metavar="ID", help="one session (id or prefix)")
    which.add_argument("--all", action="store_true", help="every session")
    export.add_argument("--format", required=True,
                        choices=("csv", "seed-csv", "jsonl", "parquet", "md"))
    export.add_argument("--out", metavar="PATH", help="file to write (default: stdout)")

    merge = sub.add_parser("merge", help="bring other raters' sessions into one DB file",
                           description="Copy every model, catalog, session, generation, "
                           "rating, comparison, blind order and vote that DST lacks from each "
                           "SRC; running it again adds nothing. A session whose id DST has for "
                           "another session stops it, writing nothing.")
    merge.add_argument("sources", nargs="+", metavar="SRC.duckdb")
    merge.add_argument("--into", required=True, metavar="DST.duckdb")
    merge.add_argument("--new-ids", action="store_true",
                       help="give a session whose id DST has for another session a new id "
                       "(the same one each time) instead of refusing the merge")
    merge.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS)

    imp = sub.add_parser(
        "import", help="bring in the old scripts' CSV and log files",
        description="Import the old rating scripts' results: X.csv (#,TASK,VOTE,REMARKS) and "
        "X_log.txt; a CSV and a log of the same run become one session. Folders give their "
        ".csv and _log.txt files. Importing the same files again changes nothing.")
    _common(imp)
    imp.add_argument("paths", nargs="+", metavar="PATH", help="CSV or log files, or folders")
    imp.add_argument("--model", metavar="NAME", default=argparse.SUPPRESS,
                     help="model name (default: from the log header, else the file name)")
    imp.add_argument("--rater", metavar="NAME", default=argparse.SUPPRESS,
                     help="who gave the votes (default: $RBYF_RATER, else your user name)")
    imp.add_argument("--tz", type=_zone, metavar="ZONE", default=argparse.SUPPRESS,
                     help="the time zone of the machine that wrote the logs, e.g. "
                          "Europe/Berlin (default: this machine's)")

    models = sub.add_parser(
        "models", help="list the GGUF models on this machine with their facts",
        description="List the GGUF models other tools keep (Ollama, LM Studio, the Hugging "
        "Face cache), the folders in models.toml (folders = [...], in the config dir) and "
        "$RBYF_MODELS (':'-separated), the demo model and the files rbyf rated: each with "
        "its architecture, parameters, quantization, trained context, whether it has a chat "
        "template, size, and its sessions, mean score and last use here. Any name shown "
        "(or its unique prefix) works as --model.")
    _common(models)
    models.add_argument("filter", nargs="*", metavar="WORD",
                        help="only models with every word in their name, architecture, "
                             "quantization or source")
    models.add_argument("--sort", choices=("name", "size", "used", "score"), default="name",
                        help="name (default), size (biggest first), used (latest first) or "
                             "score (best mean first)")
    models.add_argument("--json", action="store_true", help="print JSON, every fact")

    pull = sub.add_parser(
        "pull", help="list a Hugging Face repo's GGUF models, or download one",
        description="Without FILE, list the repo's GGUF models with their sizes and "
        "quantizations. With a file name or a quantization (e.g. q5_k_m), download it into the "
        "Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), "
        "where other tools "
        "see it too: an interrupted download resumes, and the file is checked against the "
        "Hub's sha256. The last line on stdout is the file's path. A gated or private repo "
        "needs a token in $HF_TOKEN.")
    pull.add_argument("repo", metavar="REPO", help="ORG/NAME on the Hub, e.g. "
                      "Qwen/Qwen2.5-1.5B-Instruct-GGUF")
    pull.add_argument("file", nargs="?", metavar="FILE|QUANT",
                      help="a .gguf file of the repo, or its quantization (any case)")
    pull.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                      help="debug logs of the transfer")

    serve = sub.add_parser(
        "serve", help="the app in a browser",
        description="Serve the app to a browser: each tab runs its own app (as `rbyf` with "
        "the options given here), all on the same DB. A tab opened at /?rater=NAME rates as "
        "NAME, so a team rates under their own names. The page loads nothing from other "
        "machines. Ctrl+C or SIGTERM stops the server and every tab's app.")
    _common(serve)
    _model_options(serve)
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=_port, default=8000, help="the port (default 8000)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a --host other machines can reach; anyone who reaches the "
                            "page can use the app as you (rate, read the whole DB, load model "
                            "files of this machine, download models)")

    catalogs = sub.add_parser("catalogs", help="list or validate prompt catalogs")
    _common(catalogs)
    catalogs.add_argument("--validate", metavar="PATH", help="check one catalog file")
    return parser


def _setup_logging(verbose: bool) -> None:
    from rbyf_tui import locations

    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        path = locations.log_dir() / "rbyf.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if verbose:
        root.addHandler(logging.StreamHandler(sys.stderr))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _setup_logging(getattr(args, "verbose", False))
        from rbyf_tui import commands

        return commands.dispatch(args)
    except UsageError as exc:
        print(f"rbyf: {exc}" if not str(exc).startswith("rbyf") else str(exc), file=sys.stderr)
        return 2
    except RbyfError as exc:
        print(f"rbyf: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rbyf: stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        log.exception("internal error")
        from rbyf_tui import locations

        print(f"rbyf: internal error: {exc!r} (details in {locations.log_dir() / 'rbyf.log'})",
              file=sys.stderr)
        return 1
