"""Session ids as people see them: a short prefix where space is tight (the app's screens,
the `rbyf sessions` table), the whole id where a command or a script takes it as it is
(`rbyf run`'s last line, command hints, --json, exports).

Ids are 32 hex digits; those made before merging raters' files needed them unique have 8.
Every command takes any unique prefix of an id, and an id given whole even when a longer
one starts with it (Store.find_session).
"""

from __future__ import annotations

from collections.abc import Iterable

SHORT = 8  # hex digits shown at least: 4 billion values, enough to be unique in practice


def short_ids(ids: Iterable[str], length: int = SHORT) -> dict[str, str]:
    """Each id's shortest prefix of at least `length` characters that starts no other id;
    an id that starts another one stays whole (find_session takes a whole id first)."""
    ordered = sorted(set(ids))
    shared = [0] * len(ordered)  # the longest prefix an id shares with its neighbours
    for n in range(1, len(ordered)):
        common = _common(ordered[n - 1], ordered[n])
        shared[n - 1] = max(shared[n - 1], common)
        shared[n] = common
    return {sid: sid[:max(length, common + 1)] for sid, common in zip(ordered, shared,
                                                                      strict=True)}


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
