"""What every backend provides: load a model, stream one chat request, cancel, describe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from rbyf_tui.backends.reasoning import Reasoning
from rbyf_tui.catalog import Sampling, Task

FINISH_REASONS = ("stop", "length", "cancelled", "error")


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[dict[str, str], ...]
    sampling: Sampling

    @classmethod
    def for_task(cls, task: Task, max_tokens: int | None = None,
                 seed: int | None = None) -> ChatRequest:
        messages = []
        if task.system:
            messages.append({"role": "system", "content": task.system})
        messages.append({"role": "user", "content": task.prompt})
        overrides: dict[str, Any] = {}
        if max_tokens is not None:
            overrides["max_tokens"] = max_tokens
        if seed is not None and task.sampling.seed is None:
            overrides["seed"] = seed
        return cls(tuple(messages), task.sampling.merged(overrides))

    def text(self) -> str:
        """The request's own words (system and user), for tokenizer-independent counts."""
        return "\n".join(m["content"] for m in self.messages)


@dataclass
class StreamEnd:
    """The last item a stream yields: how it ended and the model's own counts."""

    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    engine_prompt_tps: float | None = None
    engine_decode_tps: float | None = None
    tokens_estimated: bool = False
    # Of the sampled tokens, those of the thinking (think block or analysis channel).
    reasoning_tokens: int | None = None
    # Prompt tokens the model evaluated for this answer, and those a prefix cache spared
    # it (None: the server did not say); prompt_tps divides the evaluated ones.
    prompt_eval_tokens: int | None = None
    prompt_cached_tokens: int | None = None
    # How the catalog's `thinking` switch was applied: on | off | unsupported (the chat
    # template cannot switch) | sent (to a server, whose template rbyf cannot see).
    thinking: str | None = None
    # time.perf_counter() when the first token of any kind came, which may be before the
    # first delta (a think tag is held until it is whole)
    first_token_at: float | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # engine counters, server timings


@dataclass
class ModelInfo:
    """Identity and description of the model a backend serves."""

    key: str  # "sha256:<hex>" for files, "openai:<base_url>#<model>" for servers
    name: str
    backend: str
    path: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    architecture: str | None = None
    quantization: str | None = None
    parameters: str | None = None
    chat_format: str | None = None
    n_ctx: int | None = None
    n_ctx_train: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Backend(Protocol):
    """A model that answers chat requests as a stream of text deltas.

    `stream` yields answer deltas (`str`) and thinking deltas (`Reasoning`) as they arrive
    and ends with exactly one `StreamEnd`.
    It checks `cancel` on every token and ends with finish_reason "cancelled" when set.
    Errors the user can cause during a request are raised as BackendError subclasses.
    """

    name: str

    def load(self) -> ModelInfo: ...

    def describe(self) -> ModelInfo: ...

    def stream(self, request: ChatRequest,
               cancel: threading.Event) -> Iterator[str | Reasoning | StreamEnd]: ...

    def close(self) -> None: ...
