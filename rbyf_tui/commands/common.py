"""Helpers the commands share: options from args, the store, plain-text tables."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rbyf_tui import locations
from rbyf_tui.store import Store


def opt(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)


def open_store(args: argparse.Namespace, *, read_only: bool = False,
               keep_open: bool = False) -> Store:
    """keep_open: hold the file between operations (the app; see store.db)."""
    return Store(locations.db_path(opt(args, "db")), read_only=read_only, keep_open=keep_open)


def stamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def cell_width(text: str) -> int:
    """Terminal columns the text takes: CJK and most emoji take two, combining marks and
    zero-width characters none (unicodedata only, no extra dependency)."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf",
                                                                         "Cc"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def fit(text: str, width: int) -> str:
    """The text cut and padded to exactly `width` terminal columns."""
    out, used = [], 0
    for char in text:
        size = cell_width(char)
        if used + size > width:
            break
        out.append(char)
        used += size
    return "".join(out) + " " * (width - used)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(0, width - cell_width(text))
    return fill + text if right else text + fill


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
          right: Sequence[int] = ()) -> str:
    """A plain aligned table; columns listed in `right` are right-aligned. Widths are
    terminal columns, so Chinese names and emoji line up too."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(cell_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [_pad(c, widths[i], i in right) for i, c in enumerate(row)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def print_csv(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Rows as CSV with a header of `keys`, written at once (a closed pipe fails whole)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(keys))
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(buffer.getvalue())
