"""`rbyf pull REPO [FILE or QUANT]`: list a Hub repo's GGUF models, or download one into the
Hugging Face cache with a progress bar on stderr; the last line on stdout is its path."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from rbyf_tui import pull_terminal
from rbyf_tui.commands.common import table

if TYPE_CHECKING:
    from rbyf_tui.hub import HubFile


def main(args: argparse.Namespace) -> int:
    from rbyf_tui import hub

    repo, named = hub.parse_spec(args.repo)
    wanted = args.file or named
    files = hub.list_gguf(repo)
    if wanted is None:
        if not files:
            raise hub.PullError(f"{repo} has no GGUF model files: choose a repo whose name "
                                "usually ends in -GGUF")
        print_listing(repo, files)
        return 0
    choice = hub.choose(files, wanted)
    path, code = pull_terminal.pull_in_thread(choice)
    if path is None:
        print("stopped: run the same command to resume", file=sys.stderr)
        return code
    print(f"use it with: rbyf --model hf:{repo}/{choice.filename}", file=sys.stderr)
    print(path)
    return 0


def print_listing(repo: str, files: list[HubFile]) -> None:
    from rbyf_tui import hub

    rows = [[f.filename, f.quantization or "?", hub.format_size(f.size) or "?",
             len(f.shards) if len(f.shards) > 1 else ""] for f in files]
    print(table(["file", "quant", "size", "files"], rows, right=[2, 3]))
    example = files[0].filename
    quants = [f.quantization for f in files]
    for quant in ["Q4_K_M", *quants]:  # the usual choice first, then the smallest
        if quant and quants.count(quant) == 1:
            example = quant.lower()
            break
    print(f"\npull one with: rbyf pull {repo} {example}   (a quantization or a file name)")
