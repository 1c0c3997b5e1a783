"""Test doubles. They live here, never in the package, and stand in only where a test says so."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Sequence

from rbyf_tui.backends.base import ChatRequest, ModelInfo, StreamEnd
from rbyf_tui.backends.reasoning import Reasoning
from rbyf_tui.errors import BackendError


class ScriptedBackend:
    """Streams scripted answers, one delta per token, at a fixed pace."""

    name = "scripted"

    def __init__(self, answers: Sequence[str] | None = None, *, delay_s: float = 0.0,
                 fail_on: Sequence[str] = (), first_delay_s: float = 0.0,
                 model: str | None = None, rate: float | None = None,
                 endless: bool = False, thought: str = "") -> None:
        self.answers = list(answers or ["Hello there, this is a scripted answer."])
        self.delay_s = delay_s
        self.rate = rate  # tokens per second, on a schedule (for the ingest benchmark)
        self.endless = endless  # repeat the answer until cancelled or max_tokens
        self.thought = thought  # words streamed as thinking before each answer
        self.first_delay_s = first_delay_s
        self.fail_on = set(fail_on)
        self.requests: list[ChatRequest] = []
        self._info = ModelInfo(key=f"scripted:{model or 'test'}", name=model or "scripted-model",
                               backend=self.name, architecture="test", quantization="none",
                               n_ctx=4096)

    def load(self) -> ModelInfo:
        return self._info

    def describe(self) -> ModelInfo:
        return self._info

    def close(self) -> None:
        pass

    def stream(self, request: ChatRequest,
               cancel: threading.Event) -> Iterator[str | Reasoning | StreamEnd]:
        self.requests.append(request)
        prompt = request.messages[-1]["content"]
        if any(marker in prompt for marker in self.fail_on):
            raise BackendError("scripted failure: the prompt asked for it")
        answer = self.answers[(len(self.requests) - 1) % len(self.answers)]
        words = answer.split(" ")
        if self.first_delay_s:
            time.sleep(self.first_delay_s)
        sent = 0
        for i, word in enumerate(self.thought.split(" ") if self.thought else []):
            if cancel.is_set():
                yield StreamEnd("cancelled", prompt_tokens=len(prompt.split()),
                                completion_tokens=sent, reasoning_tokens=sent)
                return
            if self.delay_s:
                time.sleep(self.delay_s)
            sent += 1
            yield Reasoning(word if i == 0 else " " + word)
        thought = sent
        start = time.perf_counter()
        cap = request.sampling.max_tokens
        source = itertools.cycle(words) if self.endless else iter(words)
        for i, word in enumerate(itertools.islice(source, cap)):
            if cancel.is_set():
                yield StreamEnd("cancelled", prompt_tokens=len(prompt.split()),
                                completion_tokens=sent)
                return
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.rate:
                ahead = start + i / self.rate - time.perf_counter()
                if ahead > 0.001:  # sleep in slices of a millisecond or more: bursts
                    time.sleep(ahead)
            sent += 1
            yield word if i == 0 else " " + word
        reason = "length" if sent - thought >= cap else "stop"
        yield StreamEnd(reason, prompt_tokens=len(prompt.split()), completion_tokens=sent,
                        reasoning_tokens=thought)
