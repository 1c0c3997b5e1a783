"""Real models that think, made from the demo model for tests.

- `Constrained`: the real in-process backend whose sampling a GBNF grammar constrains, so
  the demo model writes `<think>…</think>` then an answer (a base model never would).
- `thinker_gguf`: a copy of the demo GGUF with a chat template, made with the `gguf`
  package's gguf-new-metadata: the template opens `<think>` in the prompt (as Qwen3's and
  DeepSeek-R1's do) and takes `enable_thinking` (false closes the block before the answer).

Grammar sampling checks every one of Gemma's 262k tokens per step, so these answers are
short: a few seconds each.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

from rbyf_tui.backends.base import ModelInfo
from rbyf_tui.backends.llama_cpp import LlamaCppBackend, LlamaSettings

THOUGHT = 'thought ::= [a-z ,.]{12,50}\nanswer ::= [A-Za-z ,.]{4,30}\n'
TAGGED = 'root ::= "<think>" thought "</think>" "\\n\\n" answer\n' + THOUGHT
# after a template that opened <think>: only the close comes
OPENED = 'root ::= thought "</think>" "\\n\\n" answer\n' + THOUGHT
PLAIN = 'root ::= answer\n' + THOUGHT

# Gemma's turns, with Qwen3's way of thinking: <think> opened for the model, or an empty
# block closed at once when enable_thinking is false.
TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>"
    "{{ 'model' if m['role'] == 'assistant' else 'user' }}\n{{ m['content'] }}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n"
    "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n"
    "{% else %}<think>\n{% endif %}{% endif %}"
)


class Constrained(LlamaCppBackend):
    """The real backend; only its sampling is constrained by `grammar` (GBNF)."""

    def __init__(self, settings: LlamaSettings, grammar: str) -> None:
        super().__init__(settings)
        self.grammar = grammar

    def load(self) -> ModelInfo:
        import llama_cpp

        info = super().load()
        rules = llama_cpp.LlamaGrammar.from_string(self.grammar, verbose=False)
        self._llm.generate = partial(self._llm.generate, grammar=rules)
        return info


def make_thinker(demo: Path, folder: Path) -> Path:
    """The demo model with TEMPLATE as its chat template (a few seconds, 250 MB)."""
    target = folder / "thinker-270m.gguf"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial_file = folder / "thinker.part"
    tool = shutil.which("gguf-new-metadata") or str(Path(sys.executable).parent
                                                    / "gguf-new-metadata")
    subprocess.run([tool, "--chat-template", TEMPLATE, str(demo), str(partial_file)],
                   check=True, capture_output=True, timeout=300)
    partial_file.rename(target)
    return target
