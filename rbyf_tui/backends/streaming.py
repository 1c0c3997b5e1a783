"""Small helpers shared by streaming backends."""

from __future__ import annotations

from collections.abc import Sequence


def split_at_stop(buffer: str, stops: Sequence[str]) -> tuple[str, str, bool]:
    """Split streamed text into (safe to show, held back, stop string found).

    Text that could be the start of a stop string is held back until the next delta shows
    whether it is one, so a stop string never flashes on screen and is never stored.
    """
    if not stops:
        return buffer, "", False
    cut = -1
    for stop in stops:
        index = buffer.find(stop)
        if index != -1 and (cut == -1 or index < cut):
            cut = index
    if cut != -1:
        return buffer[:cut], "", True
    hold = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(buffer)), hold, -1):
            if buffer.endswith(stop[:size]):
                hold = size
                break
    if hold:
        return buffer[:-hold], buffer[-hold:], False
    return buffer, "", False
