"""`rbyf catalogs`: list bundled and user catalogs, or validate one file."""

from __future__ import annotations

import argparse
from pathlib import Path

from rbyf_tui import catalog as catalogs
from rbyf_tui import locations
from rbyf_tui.commands.common import table


def main(args: argparse.Namespace) -> int:
    if args.validate:
        cat = catalogs.load_file(Path(args.validate).expanduser())
        warm = ", warm-up" if cat.warmup else ""
        print(f"{args.validate}: ok: {cat.name} {cat.version}, {len(cat.tasks)} tasks{warm}")
        return 0
    entries = catalogs.discover()
    rows = []
    for entry in entries:
        if entry.catalog:
            rows.append([entry.name, entry.catalog.version, len(entry.catalog.tasks),
                         entry.origin, entry.catalog.description])
        else:
            rows.append([entry.name, "", "", entry.origin, f"BROKEN: {entry.error}"])
    print(table(["name", "version", "tasks", "source", "description"], rows, right=[2]))
    print(f"\nuser catalogs: {locations.user_catalog_dir()}")
    return 0
