"""Stream overhead: does rbyf cost the model anything?

Decodes the same prompt with the same sampling, seed and token count through
  (a) a bare llama-cpp-python streaming loop (Llama.generate + detokenize),
  (b) `rbyf run` (a subprocess, into a throwaway DB),
  (c) the full TUI session screen, headless (App.run_test), when the app is installed,
alternating a, b, c for several rounds on this noisy shared machine, and prints each
one's median decode tokens/s, its spread, and the median over rounds of b/a and c/a
(each against the bare run of its own round; target >= 0.97). For (b) it also prints how
rbyf's client-side decode speed agrees with llama.cpp's own counter on the same answer
(DESIGN.md: within 10%).

Each run is a fresh process. llama.cpp's CPU backend keeps an OpenMP thread team per
calling thread: once the main thread has decoded, a later decode from another thread (as
the TUI's worker does) runs about a fifth slower in that process. Arm (a) in the same
process as (c) measured that artefact, not the TUI.

    python benchmarks/stream_overhead.py [--rounds 5] [--tokens 256] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PROMPT = "Write a long story about a lighthouse keeper, a storm and a lost ship."
CATALOG = """name = "bench"
version = "1"

[defaults]
temperature = 0.7
repeat_penalty = 1.1
max_tokens = {tokens}
n_ctx = 2048
seed = 7

[rubric]
0 = "0"
1 = "1"
2 = "2"
3 = "3"
4 = "4"
5 = "5"

[[tasks]]
key = "story"
prompt = "{prompt}"
"""


def bare(model: Path, tokens: int) -> float:
    """(a): the loop anyone would write with llama-cpp-python, timed the way rbyf times."""
    import llama_cpp

    from rbyf_tui.backends.llama_cpp import default_threads

    threads = default_threads()
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=2048, n_threads=threads,
                          n_threads_batch=threads, seed=7, verbose=False)
    prompt = (f"<start_of_turn>user\n{PROMPT}<end_of_turn>\n<start_of_turn>model\n")
    ids = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    llm.reset()
    llm.set_seed(7)
    count, first, last = 0, 0.0, 0.0
    for token in llm.generate(ids, temp=0.7, repeat_penalty=1.1, top_k=40, top_p=0.95,
                              min_p=0.05):
        count += 1
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        piece = llm.detokenize([token])
        now = time.perf_counter()
        if piece and not first:
            first = now
        last = now
        if count >= tokens:
            break
    llm.close()
    return (count - 1) / (last - first)


def through_rbyf_run(model: Path, tokens: int, work: Path, agreement: list[float]) -> float:
    """(b): `rbyf run` in a subprocess; the figure is the one rbyf stores. Its ratio to
    llama.cpp's own decode figure for the same answer goes to `agreement`."""
    catalog = work / "bench.toml"
    catalog.write_text(CATALOG.format(tokens=tokens, prompt=PROMPT), encoding="utf-8")
    db = work / f"b-{time.monotonic_ns()}.duckdb"
    env = dict(os.environ, RBYF_HOME=str(work), PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "rbyf_tui", "run", "--model", str(model),
                    "--catalog", str(catalog), "--db", str(db)], check=True, env=env,
                   capture_output=True, cwd=REPO)
    con = duckdb.connect(str(db), read_only=True)
    value, engine = con.execute(
        "SELECT decode_tps, engine_decode_tps FROM generations").fetchone() or (None, None)
    con.close()
    if value and engine:
        agreement.append(value / engine)
    return float(value)


def through_tui(model: Path, tokens: int, work: Path) -> float:
    """(c): the session screen, headless; the figure is the one rbyf stores. Also prints
    the answer's repaints a second, which the parent collects."""
    from benchmarks.tui_session import decode_tps_in_tui

    tps, repaints, ui_share = decode_tps_in_tui(
        model, CATALOG.format(tokens=tokens, prompt=PROMPT), work)
    print(f"repaints/s {repaints:.2f}")
    print(f"ui_share {ui_share:.5f}")
    return tps


def in_fresh_process(arm: str, model: Path, tokens: int, work: Path,
                     repaints: list[float], shares: list[float]) -> float:
    """Arm (a) or (c) in a new Python process, so no arm inherits another's threads; (c)'s
    repaints a second go to `repaints`, its UI thread's share of a core to `shares`."""
    done = subprocess.run([sys.executable, __file__, "--arm", arm, "--model", str(model),
                           "--tokens", str(tokens), "--work", str(work)], check=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True,
                          text=True, cwd=REPO)
    lines = done.stdout.strip().splitlines()
    repaints.extend(float(x.split()[1]) for x in lines if x.startswith("repaints/s "))
    shares.extend(float(x.split()[1]) for x in lines if x.startswith("ui_share "))
    return float(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--arm", choices=["a", "c"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from rbyf_tui.model_files import demo_model_path

    model = args.model or demo_model_path()
    if args.arm:  # one run, in this (fresh) process
        arm = bare if args.arm == "a" else partial(through_tui, work=args.work)
        print(arm(model, args.tokens))
        return
    runs: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    repaints: list[float] = []  # (c)'s answer repaints a second, one per run
    agreement: list[float] = []  # (b)'s decode t/s over llama.cpp's own, one per run
    shares: list[float] = []  # (c)'s UI thread's share of a core while the answer streamed
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ways: dict[str, Callable[[], float]] = {
            "a": lambda: in_fresh_process("a", model, args.tokens, work, repaints, shares),
            "b": lambda: through_rbyf_run(model, args.tokens, work, agreement),
            "c": lambda: in_fresh_process("c", model, args.tokens, work, repaints, shares),
        }
        names = list(ways)
        for round_no in range(1, args.rounds + 1):
            shift = (round_no - 1) % len(names)  # each arm goes first in turn
            for name in names[shift:] + names[:shift]:
                runs[name].append(ways[name]())
            print(f"round {round_no}: " + "  ".join(
                f"{k} {v[-1]:.1f}" for k, v in runs.items()), flush=True)
    report: dict[str, object] = {"tokens": args.tokens, "rounds": args.rounds,
                                 "target_ratio": 0.97}
    labels = {"a": "bare llama-cpp-python", "b": "rbyf run", "c": "TUI session screen"}
    for name, values in runs.items():
        med = statistics.median(values)
        spread = (max(values) - min(values)) / med * 100
        # The machine's speed drifts between rounds: compare each run with the bare run of
        # its own round, and take the median of those ratios.
        ratios = [v / a for v, a in zip(values, runs["a"], strict=True)]
        ratio = statistics.median(ratios)
        report[name] = {"median_decode_tps": round(med, 2), "spread_pct": round(spread, 1),
                        "ratio_to_a": round(ratio, 3),
                        "ratios_by_round": [round(r, 3) for r in ratios]}
        verdict = "" if name == "a" else ("  ok" if ratio >= 0.97 else "  BELOW TARGET")
        print(f"({name}) {labels[name]:<22} median {med:6.1f} t/s  spread {spread:4.1f}%  "
              f"ratio {ratio:.3f}{verdict}")
    if repaints:
        report["c_repaints_per_s"] = round(statistics.median(repaints), 2)
        print(f"(c) repaints a second while the answer streamed: median "
              f"{statistics.median(repaints):.1f} (min {min(repaints):.1f}, "
              f"max {max(repaints):.1f})")
    if agreement:
        agree = statistics.median(agreement)
        report["b_client_to_engine_decode"] = round(agree, 3)
        print(f"(b) rbyf's decode t/s over llama.cpp's own counter: median {agree:.3f} "
              f"(min {min(agreement):.3f}, max {max(agreement):.3f}; target within 10%)"
              + ("  ok" if abs(agree - 1) <= 0.10 else "  OUTSIDE TARGET"))
    if shares:
        report["c_ui_share_pct"] = round(statistics.median(shares) * 100, 2)
        print(f"(c) the UI thread's share of a core meanwhile: median "
              f"{statistics.median(shares) * 100:.2f}% (min {min(shares) * 100:.2f}%, "
              f"max {max(shares) * 100:.2f}%)")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
