"""In-process llama-cpp-python backend: our own token loop for exact counts and cancellation."""

from __future__ import annotations

import codecs
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rbyf_tui import locations, model_files
from rbyf_tui.backends import llama_log
from rbyf_tui.backends.base import ChatRequest, ModelInfo, StreamEnd
from rbyf_tui.backends.reasoning import Reasoning, ThoughtSplitter, template_opens_think
from rbyf_tui.backends.streaming import split_at_stop
from rbyf_tui.errors import BackendError, ContextOverflowError, ModelError
from rbyf_tui.gguf_header import FILE_TYPES
from rbyf_tui.metrics import engine_rate

# Used only when the GGUF carries no chat template of its own.
FORMAT_BY_ARCHITECTURE = {
    "gemma": "gemma", "gemma2": "gemma", "gemma3": "gemma", "gemma3n": "gemma",
    "qwen2": "chatml", "qwen2moe": "chatml", "qwen3": "chatml", "qwen3moe": "chatml",
}
# Formats whose templates drop system messages; we fold the system text into the first
# user turn, as Gemma's own template does, rather than lose it.
FOLD_SYSTEM = {"gemma"}
# llama.cpp's loader wraps its reason in this: "llama_model_load: error loading model: ..."
LOAD_ERROR_PREFIX = "error loading model: "


def default_threads() -> int:
    """All cores this process may use: llama-cpp-python's default takes half for decoding."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class LlamaSettings:
    model_path: Path
    n_ctx: int = 8192
    n_gpu_layers: int = 0
    threads: int | None = None
    seed: int = 0
    chat_format: str | None = None
    reuse_prefix: bool = False
    verbose: bool = False


def load_detail(line: str | None) -> str | None:
    """llama.cpp's own reason, without the names of the functions it passed through."""
    if not line:
        return None
    return line.rsplit(LOAD_ERROR_PREFIX, 1)[-1].strip() or line


def chat_format_names() -> list[str]:
    from llama_cpp import llama_chat_format

    registry = llama_chat_format.LlamaChatCompletionHandlerRegistry()
    return sorted(registry._chat_handlers)


def prompt_evaluated(perf: Any) -> int:
    """Prompt tokens llama.cpp evaluated since its counters were reset: batches count in
    n_p_eval, a lone token (what is left after a cached prefix) in n_eval. It reports a
    count of 0 as 1, so a count whose time is 0 is none."""
    return ((perf.n_p_eval if perf.t_p_eval_ms > 0 else 0)
            + (perf.n_eval if perf.t_eval_ms > 0 else 0))


class _PromptCapture:
    """Stands in for Llama while a chat handler formats messages, to keep what it would send.

    This reuses llama-cpp-python's own formatting for every chat format and GGUF template,
    while the token loop stays ours.
    """

    def __init__(self, llm: Any) -> None:
        self._llm = llm
        self.kwargs: dict[str, Any] = {}

    def tokenize(self, *args: Any, **kwargs: Any) -> list[int]:
        return self._llm.tokenize(*args, **kwargs)

    def create_completion(self, **kwargs: Any) -> Iterator[Any]:
        self.kwargs = kwargs
        return iter(())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)


class LlamaCppBackend:
    name = "llama.cpp"

    def __init__(self, settings: LlamaSettings) -> None:
        self.settings = settings
        self._llm: Any = None
        self._info: ModelInfo | None = None
        self._vocab: Any = None
        self._template_text = ""
        self._lock = threading.Lock()

    # --- loading ------------------------------------------------------------------------

    def load(self) -> ModelInfo:
        s = self.settings
        path = model_files.check_gguf(s.model_path)
        sha = model_files.sha256_of(path)
        if not s.verbose:
            llama_log.route_llama_logs(locations.native_log_path())
        llama_log.clear_errors()
        try:
            import llama_cpp
        except ImportError as exc:  # a broken build of the native library
            raise ModelError(f"llama-cpp-python cannot be imported ({exc}): reinstall it") from None
        threads = s.threads or default_threads()
        try:
            llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=s.n_ctx,
                n_gpu_layers=s.n_gpu_layers,
                n_threads=threads,
                n_threads_batch=threads,
                seed=s.seed,
                verbose=s.verbose,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            detail = load_detail(llama_log.first_error()) or str(exc)
            raise ModelError(f"llama.cpp could not load {path.name}: {detail}") from None
        metadata = dict(llm.metadata)
        try:
            llm.chat_format = self._pick_chat_format(llm, metadata, path)
        except ModelError:
            llm.close()
            raise
        # The GGUF's own template, when it is the one in use: it may take enable_thinking.
        self._template_text = metadata.get("tokenizer.chat_template", "") \
            if not s.chat_format else ""
        self._llm = llm
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        arch = metadata.get("general.architecture")
        file_type = metadata.get("general.file_type", "")
        train_ctx = metadata.get(f"{arch}.context_length", "")
        self._info = ModelInfo(
            key=f"sha256:{sha}",
            name=model_files.model_name(path),
            backend=self.name,
            path=str(path),
            sha256=sha,
            size_bytes=path.stat().st_size,
            architecture=arch,
            quantization=FILE_TYPES.get(int(file_type)) if file_type.isdigit()
            else None,
            parameters=metadata.get("general.size_label"),
            chat_format=llm.chat_format,
            n_ctx=llm.n_ctx(),
            n_ctx_train=int(train_ctx) if train_ctx.isdigit() else None,
            extra={
                "threads": threads,
                "n_gpu_layers": s.n_gpu_layers,
                # a CPU-only build takes --gpu-layers and still decodes on the CPU
                "gpu_offload": bool(s.n_gpu_layers) and llama_cpp.llama_supports_gpu_offload(),
                "llama_cpp_python": getattr(llama_cpp, "__version__", "?"),
                "system_info": llama_cpp.llama_print_system_info().decode(errors="replace"),
            },
        )
        return self._info

    def _pick_chat_format(self, llm: Any, metadata: dict[str, str], path: Path) -> str:
        """The asked format; else the GGUF's template; else one known for the architecture."""
        wanted = self.settings.chat_format
        if wanted:
            if wanted in llm._chat_handlers or wanted in chat_format_names():
                return wanted
            raise ModelError(
                f"unknown chat format '{wanted}': use one of {', '.join(chat_format_names())}"
            )
        if "tokenizer.chat_template" in metadata:
            return llm.chat_format  # llama-cpp-python's pick for the embedded template
        arch = metadata.get("general.architecture", "unknown")
        if arch in FORMAT_BY_ARCHITECTURE:
            return FORMAT_BY_ARCHITECTURE[arch]
        raise ModelError(
            f"{path.name} has no chat template and its architecture '{arch}' does not tell "
            "which to use: pass --chat-format (for example chatml, llama-3, llama-2, "
            "mistral-instruct or gemma)"
        )

    def describe(self) -> ModelInfo:
        if self._info is None:
            raise ModelError("the model is not loaded yet")
        return self._info

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None

    # --- generation ---------------------------------------------------------------------

    def thinking_switch(self, wanted: bool | None) -> tuple[dict[str, bool], str | None]:
        """The template argument that asks for thinking or not, and how it applies."""
        if wanted is None:
            return {}, None
        if "enable_thinking" not in self._template_text:
            return {}, "unsupported"  # e.g. a built-in format, or a template that always thinks
        return {"enable_thinking": wanted}, "on" if wanted else "off"

    def _template(self, messages: list[dict[str, str]],
                  switch: dict[str, bool]) -> tuple[list[int], list[str], bool]:
        """(prompt tokens, stop strings, whether the prompt opened a think block)."""
        from llama_cpp import llama_chat_format

        llm = self._llm
        if llm.chat_format in FOLD_SYSTEM and messages and messages[0]["role"] == "system":
            system, rest = messages[0]["content"], messages[1:]
            if rest and rest[0]["role"] == "user":
                rest = [{"role": "user", "content": f"{system}\n\n{rest[0]['content']}"},
                        *rest[1:]]
            messages = rest
        handler = (
            llm.chat_handler
            or llm._chat_handlers.get(llm.chat_format)
            or llama_chat_format.get_chat_completion_handler(llm.chat_format)
        )
        capture = _PromptCapture(llm)
        # extra keywords reach the template (Jinja2ChatFormatter renders with them)
        handler(llama=capture, messages=messages, stream=True, max_tokens=1, **switch)
        tokens = list(capture.kwargs.get("prompt") or [])
        if not tokens:
            raise BackendError(f"chat format '{llm.chat_format}' produced no prompt")
        stop = capture.kwargs.get("stop") or []
        tail = llm.detokenize(tokens[-8:], special=True).decode("utf-8", errors="replace")
        return (tokens, [stop] if isinstance(stop, str) else [s for s in stop if s],
                template_opens_think(tail))

    def stream(self, request: ChatRequest,
               cancel: threading.Event) -> Iterator[str | Reasoning | StreamEnd]:
        import llama_cpp

        llm = self._llm
        if llm is None:
            raise BackendError("the model is not loaded")
        sampling = request.sampling
        switch, thinking = self.thinking_switch(sampling.thinking)
        tokens, template_stops, opens_think = self._template(
            [dict(m) for m in request.messages], switch)
        n_prompt, n_ctx = len(tokens), llm.n_ctx()
        if n_prompt >= n_ctx:
            raise ContextOverflowError(
                f"the prompt is {n_prompt} tokens but the context holds {n_ctx}: "
                "raise --ctx or shorten the task"
            )
        max_tokens = min(sampling.max_tokens, n_ctx - n_prompt)
        stops = [*sampling.stop, *template_stops]
        if cancel.is_set():  # stopped before the prompt was even read
            yield StreamEnd(finish_reason="cancelled", prompt_tokens=n_prompt,
                            completion_tokens=0, thinking=thinking)
            return
        if not self.settings.reuse_prefix:
            llm.reset()  # empty KV cache: TTFT is the whole prompt's cost
        llm.set_seed(sampling.seed if sampling.seed is not None else self.settings.seed)
        llama_cpp.llama_perf_context_reset(llm.ctx)
        llama_log.clear_errors()  # an error line now is this answer's, not an older one

        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        is_eog, vocab, detokenize = llama_cpp.llama_vocab_is_eog, self._vocab, llm.detokenize
        # harmony's channel markers are control tokens: shown only with special=True
        special = "<|channel|>" in self._template_text
        splitter = ThoughtSplitter(starts_inside=opens_think)
        held, sampled, finish, hit, before_answer = "", 0, "length", False, 0
        evaluated: int | None = None  # prompt tokens llama.cpp evaluated (not cached)
        first_at: float | None = None
        generator = llm.generate(
            tokens,
            temp=sampling.temperature,
            repeat_penalty=sampling.repeat_penalty,
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            min_p=sampling.min_p,
        )
        try:
            for token in generator:
                if evaluated is None:  # the prompt is in; no sampled token evaluated yet
                    first_at = time.perf_counter()
                    evaluated = prompt_evaluated(llama_cpp.llama_perf_context(llm.ctx))
                sampled += 1
                if cancel.is_set():
                    finish = "cancelled"
                    break
                if is_eog(vocab, token):
                    finish = "stop"
                    break
                if not splitter.closed:  # up to and with the token that ends the thought
                    before_answer += 1
                text = decoder.decode(detokenize([token], special=special))
                if text:
                    if stops:
                        text, held, hit = split_at_stop(held + text, stops)
                    yield from splitter.feed(text)
                    if hit:
                        finish = "stop"
                        break
                if sampled >= max_tokens:
                    break
        except RuntimeError as exc:
            detail = llama_log.last_error() or str(exc)
            raise BackendError(f"llama.cpp failed while generating: {detail}") from None
        finally:
            generator.close()
        tail = held + decoder.decode(b"", final=True)
        if tail and not hit:
            yield from splitter.feed(tail)
        yield from splitter.finish()
        perf = llama_cpp.llama_perf_context(llm.ctx)
        evaluated = n_prompt if evaluated is None else evaluated
        yield StreamEnd(
            finish_reason=finish,
            prompt_tokens=n_prompt,
            completion_tokens=sampled,
            engine_prompt_tps=engine_rate(perf.n_p_eval, perf.t_p_eval_ms),
            engine_decode_tps=engine_rate(perf.n_eval, perf.t_eval_ms),
            reasoning_tokens=before_answer if splitter.thought else 0,
            prompt_eval_tokens=evaluated,
            prompt_cached_tokens=max(0, n_prompt - evaluated),
            thinking=thinking,
            first_token_at=first_at,
            extra={"engine_prompt_tokens": perf.n_p_eval, "engine_decode_evals": perf.n_eval,
                   "engine_prompt_ms": perf.t_p_eval_ms, "engine_decode_ms": perf.t_eval_ms},
        )
