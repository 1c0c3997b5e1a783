"""The command palette (ctrl+p): the key bindings of the screen in view, by name, so that
every screen's palette and footer come from one list (its BINDINGS)."""

from __future__ import annotations

from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

Entry = tuple[str, str, str]  # name, action, help


class BindingCommands(Provider):
    """Each binding with a description: the description (capitalised) is the entry's name,
    its tooltip and first key the help."""

    def entries(self) -> list[Entry]:
        found = []
        for binding in getattr(type(self.screen), "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description:
                key = binding.key.split(",")[0]
                name = binding.description[:1].upper() + binding.description[1:]
                found.append((name, binding.action,
                              f"{binding.tooltip or binding.description} ({key})"))
        return found

    async def discover(self) -> Hits:
        for name, action, help_text in self.entries():
            yield DiscoveryHit(name, partial(self.screen.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self.entries():
            if (score := matcher.match(f"{name} {help_text}")) > 0:
                yield Hit(score, matcher.highlight(name), partial(self.screen.run_action, action),
                          text=name, help=help_text)
