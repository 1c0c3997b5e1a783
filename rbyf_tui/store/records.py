"""What the store hands in and out: small typed records, named like their columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from rbyf_tui.backends.base import ModelInfo
from rbyf_tui.catalog import Catalog
from rbyf_tui.metrics import Figures

FINISHED = ("ok", "cancelled")  # statuses whose answer can be rated

# An answer's figures (metrics.Figures), as the generations table stores them.
ANSWER_FIGURES = (
    "ttft_s", "total_s", "prompt_tokens", "completion_tokens", "prompt_tps", "decode_tps",
    "e2e_tps", "engine_prompt_tps", "engine_decode_tps", "prompt_tiktoken",
    "completion_tiktoken", "tokens_estimated", "answer_ttft_s", "reasoning_tokens",
    "reasoning_s", "prompt_eval_tokens", "prompt_cached_tokens",
)


@dataclass(frozen=True)
class SessionRef:
    id: str
    model_id: str
    model_name: str
    catalog_id: str
    catalog_name: str
    status: str
    settings: dict[str, Any]
    rater: str | None


@dataclass(frozen=True)
class SessionRow:
    """A session as `rbyf sessions` lists it (the field order is its --json key order).
    `running`: a live process on this host generates into it, `pid` that process."""

    id: str
    model: str
    model_id: str
    catalog: str
    status: str
    tasks: int
    generated: int
    rated: int
    rater: str | None
    origin: str
    backend: str
    created_at: datetime
    updated_at: datetime
    running: bool
    pid: int | None
    comparison_id: str | None = None
    comparison_position: int | None = None
    quantization: str | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class TaskState:
    """A task of a session: its latest generation (every column of generations but
    updated_at), how many attempts it had, and the rating that counts, if any (the latest
    given to any of its attempts: `rated_generation_id` names that attempt)."""

    id: str
    session_id: str
    task_key: str
    task_title: str
    is_warmup: bool
    attempt: int
    system: str | None
    prompt: str
    sampling: str | None  # JSON
    response: str
    finish_reason: str | None
    status: str
    error: str | None
    ttft_s: float | None
    total_s: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    prompt_tps: float | None
    decode_tps: float | None
    e2e_tps: float | None
    engine_prompt_tps: float | None
    engine_decode_tps: float | None
    prompt_tiktoken: int | None
    completion_tiktoken: int | None
    tokens_estimated: bool
    checks: str | None  # JSON (checks.to_json)
    checks_passed: int | None
    checks_total: int | None
    extra: str | None  # JSON
    started_at: datetime
    finished_at: datetime | None
    reasoning: str | None
    answer_ttft_s: float | None
    reasoning_tokens: int | None
    reasoning_s: float | None
    prompt_eval_tokens: int | None
    prompt_cached_tokens: int | None
    thinking: str | None
    attempts: int
    score: int | None
    remarks: str | None
    rater: str | None
    rated_at: datetime | None
    rated_generation_id: str | None

    def figures(self) -> dict[str, Any]:
        """What the stats pane shows of the answer: its figures, finish reason and checks."""
        return {**{name: getattr(self, name) for name in ANSWER_FIGURES},
                "finish_reason": self.finish_reason, "checks": self.checks}


@dataclass(frozen=True)
class LoadFailure:
    """A model that would not load. `loaded_since`: the same model file (or the resumed
    session) loaded after it. The field order is `rbyf sessions --failures --json`'s."""

    id: str
    failed_at: datetime
    origin: str
    backend: str
    model: str
    catalog_name: str | None
    session_id: str | None
    error: str
    loaded_since: bool


@dataclass(frozen=True)
class ModelUsage:
    """What rbyf knows of one model file, by its resolved path (the models list)."""

    path: str
    name: str
    sessions: int
    mean_score: float | None  # over the ratings that count, every catalog
    last_used: datetime | None


@dataclass(frozen=True)
class RaterScore:
    """The latest score one rater gave one model's task (agreement between raters)."""

    model: str
    model_id: str
    catalog: str
    task_key: str
    rater: str
    score: int


@dataclass
class ImportedGeneration:
    """A finished generation from elsewhere (e.g. the old scripts' logs), maybe rated."""

    key: str
    title: str
    is_warmup: bool
    attempt: int
    prompt: str
    response: str
    sampling: dict[str, Any] | None
    figures: Figures
    extra: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime
    score: int | None = None
    remarks: str = ""
    status: str = "ok"


@dataclass
class ImportedSession:
    model: ModelInfo
    catalog: Catalog
    # A hash of the source files' bytes. The session they became is found by it, its model
    # and settings.import.files (names and hashes): importing them again changes nothing.
    source_hash: str
    settings: dict[str, Any]
    note: str
    rater: str | None
    created_at: datetime
    generations: list[ImportedGeneration]


VERDICTS = ("left", "right", "tie", "both_bad")  # a pairwise battle's outcomes


@dataclass(frozen=True)
class Vote:
    """One pairwise battle: two answers to one task, which was on the left, the verdict."""

    id: str
    catalog_name: str
    task_key: str
    left_generation_id: str
    right_generation_id: str
    left_model_id: str
    right_model_id: str
    verdict: str  # one of VERDICTS
    remarks: str | None
    rater: str | None
    created_at: datetime


class BattleAnswer(NamedTuple):
    """A model's answer that counts for one task of a catalog (what a battle shows);
    task_key and generation_id None: the model has no answer in the catalog yet."""

    catalog: str
    model_id: str
    model: str
    task_key: str | None
    generation_id: str | None


class PairVotes(NamedTuple):
    """How many votes one rater gave one pair of models on one task (model_a < model_b)."""

    catalog: str
    task_key: str
    model_a: str
    model_b: str
    rater: str | None
    votes: int


@dataclass(frozen=True)
class ComparisonMember:
    """One model of a comparison: its session once it has one ("waiting" before)."""

    position: int
    label: str
    session_id: str | None
    model_id: str | None
    model: str
    quantization: str | None
    size_bytes: int | None
    status: str  # the session's status (open | complete), or waiting
    answered: int  # tasks with a finished answer (the warm-up excluded)
    tasks: int

    @property
    def generated(self) -> bool:
        return self.session_id is not None and self.answered >= self.tasks


@dataclass(frozen=True)
class ComparisonRow:
    """Several models' sessions on one catalog with one seed and sampling; `settings` holds
    every model's spec (comparison.ModelSpec), so a resume knows those not started yet."""

    id: str
    catalog_id: str
    catalog_name: str
    seed: int
    origin: str
    created_at: datetime
    settings: dict[str, Any]
    members: list[ComparisonMember]

    @property
    def generated(self) -> bool:
        """Every model has answered every task."""
        return all(m.generated for m in self.members)

    @property
    def finished(self) -> bool:
        """Every model's session is complete (every task rated)."""
        return all(m.status == "complete" for m in self.members)
