"""`rbyf report`: the results as one self-contained HTML file, or Markdown with SVG charts."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from rbyf_tui.commands.common import opt
from rbyf_tui.commands.reports import board_store
from rbyf_tui.errors import RbyfError, UsageError


def main(args: argparse.Namespace) -> int:
    from rbyf_tui.report import data

    markdown_out = bool(args.out) and Path(args.out).suffix.lower() in (".md", ".markdown")
    fmt = args.format or ("md" if markdown_out else "html")
    out = Path(args.out or f"report.{fmt}").expanduser()
    store = board_store(args)
    if args.catalog:
        data.check_catalog(store, args.catalog)
    report = data.build(store, datetime.now(UTC).replace(tzinfo=None), args.catalog,
                        args.models, opt(args, "rater", None))
    if report.missing:
        print(f"rbyf report: nothing rated or voted on for {', '.join(report.missing)}: "
              "left out", file=sys.stderr)
    try:  # made only now: a report that fails leaves no empty folder behind
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot make its folder {out.parent}: "
                         f"{exc.strerror or exc}") from exc
    if fmt == "md":
        from rbyf_tui.report import markdown

        text, files = markdown.render(report, out.stem)
        for name, content in files.items():
            _write(out.with_name(name), content)
        _write(out, text)
        for name in files:
            print(out.with_name(name))
    else:
        from rbyf_tui.report import html

        _write(out, html.render(report))
    print(out)
    return 0


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a full disk leaves the previous report, not half a new one."""
    part = path.with_name(f".{path.name}.part")
    try:
        part.write_text(text, encoding="utf-8")
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise RbyfError(f"cannot write {path}: {exc.strerror or exc}: free space or choose "
                        "another --out") from exc
