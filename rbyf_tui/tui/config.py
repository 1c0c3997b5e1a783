"""What the app is asked to do: the DB, the model options, how to start, how to make backends."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rbyf_tui.backends import BackendOptions, make_backend
from rbyf_tui.opening import BackendFactory


@dataclass(frozen=True)
class BattleStart:
    """`rbyf battle`: open the battle screen on this catalog (and these model ids)."""

    catalog: str
    models: list[str] | None = None
    repeat: bool = False
    missing: str = "skip"  # a task a model has not answered: skip it, or generate it


@dataclass
class AppConfig:
    db_path: Path
    options: BackendOptions = field(default_factory=BackendOptions)
    catalog: str | None = None  # name or .toml path given on the command line
    resume: str | None = None  # session id (or prefix) to reopen at once
    start: bool = False  # open a new session at once (model and catalog were given)
    max_tokens: int | None = None
    rater: str | None = None
    offer_demo: bool = False  # the demo model's package is installed: offer it on home
    backend_factory: BackendFactory = make_backend
    handle_signals: bool = True  # SIGTERM / SIGHUP: save, then exit
    battle: BattleStart | None = None  # `rbyf battle`: open the battle screen at once
    blind: str | None = None  # `rbyf blind`: this comparison's blind rating at once
