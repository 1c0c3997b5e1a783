"""The command palette (ctrl+p): every action of the screen in view, by name."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# Screens list their actions as PALETTE = [(title, help, action string), ...].
PaletteEntry = tuple[str, str, str]


class ActionsProvider(Provider):
    def _entries(self) -> Iterator[PaletteEntry]:
        yield from getattr(self.screen, "PALETTE", [])

    def _run(self, action: str) -> None:
        self.app.call_later(self.screen.run_action, action)

    async def discover(self) -> Hits:
        for title, help_text, action in self._entries():
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action),
                          help=help_text)
