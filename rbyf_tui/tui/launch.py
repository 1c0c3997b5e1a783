"""Start the app from the command line (placeholder until the TUI lands)."""

from __future__ import annotations

import argparse

from rbyf_tui.errors import RbyfError


def launch(args: argparse.Namespace) -> int:
    raise RbyfError("the full-screen app is not built yet: use `rbyf run` and `rbyf rate`")
