"""`rbyf pull` and rbyf_tui.hub against a local stand-in for the Hub (tests/hub_server.py)
serving the demo model: listing, choosing, the hub-cache layout, resuming, the checksum,
gated and unknown repos, offline, a full disk, and the pulled model running."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from rbyf_tui import hub

from conftest import REPO as CHECKOUT
from conftest import assert_one_line_error, cli_env, run_cli
from helpers import MINI, rows
from hub_server import (
    CORRUPT,
    FILE,
    GATED,
    REPO,
    SPLIT_FIRST,
    SPLIT_SECOND,
    TOKEN,
    FakeHub,
    closed_port,
    running,
)

pytestmark = pytest.mark.timeout(600)
COMMIT = hashlib.sha1(REPO.encode()).hexdigest()

# --- no test may reach anything but the local server ---------------------------------------

_outside: list[str] = []
_watching = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if not _watching:
        return
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    else:
        return
    if host not in ("127.0.0.1", "localhost", "::1", b"127.0.0.1", b"localhost"):
        _outside.append(str(host))


sys.addaudithook(_audit)


@pytest.fixture(scope="module")
def server(demo_model: Path) -> Iterator[FakeHub]:
    import huggingface_hub.constants

    # huggingface_hub read HF_HUB_DISABLE_TELEMETRY when first imported; with it off the
    # user agent asks the Hub (its import-time endpoint) for a list of AI agents.
    with running(demo_model) as fake, pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
        yield fake


@pytest.fixture
def fake(server: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The local Hub, with HF_ENDPOINT pointing at it and the hub cache in tmp_path; the
    same environment reaches the CLI subprocesses (run_cli copies os.environ)."""
    global _watching
    server.requests.clear()
    server.cut_at, server.down_after_cut, server.down, server.rate = None, False, False, None
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no stored token, no xet cache
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_UPDATE_CHECK", "1")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                 "HUGGINGFACE_HUB_CACHE", "HF_HUB_DISABLE_XET"):
        monkeypatch.delenv(name, raising=False)
    _outside.clear()
    _watching = True
    try:
        yield server
    finally:
        _watching = False
        shutil.rmtree(tmp_path / "hub", ignore_errors=True)  # 250 MB per test
    assert _outside == [], f"a test reached beyond the local Hub: {_outside}"
    assert not [r for r in server.requests if "xet" in r.path], "hf_xet was asked for a token"


@pytest.fixture(scope="module")
def demo_sha(demo_model: Path) -> str:
    return sha256(demo_model)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(4 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache() -> Path:
    return Path(os.environ["HF_HUB_CACHE"])


def storage(repo: str = REPO) -> Path:
    return cache() / f"models--{repo.replace('/', '--')}"


def partials(repo: str = REPO) -> list[Path]:
    return sorted((storage(repo) / "blobs").glob("*.incomplete"))


def cdn_gets(fake: FakeHub) -> list[str | None]:
    """The Range header of each GET the CDN got (None: from the start)."""
    return [r.header("Range") for r in fake.seen("cdn", "GET")]


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# --- listing and choosing ------------------------------------------------------------------


def test_listing_shows_each_model_once_with_size_and_quantization(fake: FakeHub) -> None:
    result = run_cli("pull", REPO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["file", "quant", "size", "files"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:] if line.strip()
            and not line.startswith("pull one")}
    assert rows == {
        "gemma-3-270m-Q5_K_M.gguf": ["Q5_K_M", "2.0", "MB"],
        "gemma-3-270m-it-Q5_K_M.gguf": ["Q5_K_M", "2.5", "MB"],
        "gemma-3-270m-Q8_0.gguf": ["Q8_0", "3.0", "MB"],
        SPLIT_FIRST: ["Q6_K", "253", "MB", "2"],  # one line for both shards
        FILE: ["Q4_K_M", "253", "MB"],
    }  # no README, no .gitattributes, no mmproj projector
    assert lines[-1].startswith(f"pull one with: rbyf pull {REPO} q4_k_m")
    assert not fake.seen("cdn")  # listing downloads nothing
    assert not cache().exists() or not any(cache().rglob("*.gguf"))


def test_list_gguf_gives_the_hubs_sizes_and_sha256(fake: FakeHub, demo_model: Path,
                                                   demo_sha: str) -> None:
    files = {f.filename: f for f in hub.list_gguf(f"hf:{REPO}")}
    demo = files[FILE]
    assert (demo.repo, demo.size, demo.sha256, demo.quantization, demo.shards) == (
        REPO, demo_model.stat().st_size, demo_sha, "Q4_K_M", (FILE,))
    split = files[SPLIT_FIRST]
    assert split.shards == (SPLIT_FIRST, SPLIT_SECOND)
    assert split.size == demo_model.stat().st_size
    assert hub.choose(list(files.values()), "Q4_K_M") is demo
    assert hub.choose(list(files.values()), FILE.upper()) is demo  # a file name, any case
    assert hub.choose(list(files.values()), SPLIT_SECOND) is split  # any shard names its model


@pytest.mark.parametrize(("wanted", "expected"), [
    ("q5_k_m", f"rbyf: q5_k_m matches 2 files in {REPO}: give the file name: "
               "gemma-3-270m-Q5_K_M.gguf (Q5_K_M, 2.0 MB); "
               "gemma-3-270m-it-Q5_K_M.gguf (Q5_K_M, 2.5 MB)"),
    ("q2_k", f"rbyf: no GGUF file or quantization 'q2_k' in {REPO}: choose one of: "
             "gemma-3-270m-Q5_K_M.gguf (Q5_K_M, 2.0 MB); "
             "gemma-3-270m-it-Q5_K_M.gguf (Q5_K_M, 2.5 MB); "
             "gemma-3-270m-Q8_0.gguf (Q8_0, 3.0 MB); "
             f"{SPLIT_FIRST} (Q6_K, 253 MB, 2 files); {FILE} (Q4_K_M, 253 MB)"),
])
def test_an_ambiguous_or_unknown_choice_lists_the_choices(fake: FakeHub, wanted: str,
                                                          expected: str) -> None:
    assert assert_one_line_error(run_cli("pull", REPO, wanted)) == expected
    assert not fake.seen("cdn")


@pytest.mark.parametrize(("name", "quant"), [
    ("qwen2.5-1.5b-instruct-q5_k_m.gguf", "Q5_K_M"),
    ("Llama-3.2-1B-Instruct-IQ4_XS.gguf", "IQ4_XS"),
    ("Qwen3-30B-A3B-UD-Q4_K_XL-00001-of-00002.gguf", "UD-Q4_K_XL"),
    ("phi-2.Q8_0.gguf", "Q8_0"),
    ("ggml-model-f16.gguf", "F16"),
    ("BF16/gemma-3-27b-it-BF16-00001-of-00002.gguf", "BF16"),
    ("Qwen3-4B-Instruct.gguf", None),
])
def test_the_quantization_comes_from_the_file_name(name: str, quant: str | None) -> None:
    assert hub.quantization(name) == quant


# --- pulling -------------------------------------------------------------------------------


def test_a_pull_lands_in_the_hub_cache_as_other_tools_expect(fake: FakeHub, demo_model: Path,
                                                            demo_sha: str) -> None:
    result = run_cli("pull", REPO, "Q4_k_m")
    assert result.returncode == 0, result.stderr
    path = Path(last_line(result.stdout))
    assert result.stdout.strip() == str(path)  # the path is all there is on stdout
    assert path == storage() / "snapshots" / COMMIT / FILE
    assert os.readlink(path) == f"../../blobs/{demo_sha}"
    assert (storage() / "refs" / "main").read_text() == COMMIT
    assert sha256(path) == demo_sha and path.stat().st_size == demo_model.stat().st_size
    assert partials() == []
    # huggingface_hub itself finds it, offline
    from huggingface_hub import try_to_load_from_cache

    assert try_to_load_from_cache(REPO, FILE, cache_dir=cache()) == str(path)
    err = result.stderr
    assert f"use it with: rbyf --model hf:{REPO}/{FILE}" in err
    # not a terminal: a line per 10% step, no carriage returns
    progress = [line for line in err.splitlines() if "%" in line]
    assert "\r" not in err
    assert 2 <= len(progress) <= 14, progress
    assert progress[-1].startswith("100.0%  253 MB / 253 MB")
    # the token never goes to the CDN; Xet headers were there and were not followed
    assert [r.header("Authorization") for r in fake.seen("cdn")] == [None]
    again = run_cli("pull", f"hf:{REPO}/{FILE}")  # the form --model takes
    assert again.returncode == 0 and last_line(again.stdout) == str(path)
    assert len(fake.seen("cdn")) == 1  # nothing fetched twice


def test_a_split_model_brings_every_shard(fake: FakeHub, demo_model: Path) -> None:
    files = hub.list_gguf(REPO)
    calls: list[tuple[int, int]] = []
    path = hub.pull(hub.choose(files, "q6_k"), progress=lambda d, t: calls.append((d, t)))
    assert path == storage() / "snapshots" / COMMIT / SPLIT_FIRST
    second = path.with_name(SPLIT_SECOND.rsplit("/", 1)[1])
    assert second.is_symlink()
    assert path.read_bytes() + second.read_bytes() == demo_model.read_bytes()
    size = demo_model.stat().st_size
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(calls))
    assert len(calls) < 200  # throttled, not one call per network read


def test_a_dropped_connection_resumes_where_it_stopped(fake: FakeHub, demo_sha: str) -> None:
    fake.cut_at = 100_000_000
    path = hub.pull(hub.choose(hub.list_gguf(REPO), FILE))
    assert cdn_gets(fake) == [None, "bytes=100000000-"]
    assert sha256(path) == demo_sha


def test_a_download_cut_for_good_resumes_in_the_next_run(fake: FakeHub, demo_sha: str) -> None:
    fake.cut_at, fake.down_after_cut = 60_000_000, True
    first = run_cli("pull", REPO, "q4_k_m")
    assert first.returncode == 1 and "Traceback" not in first.stderr
    line = last_line(first.stderr)  # the reason in the middle is httpx's
    assert line.startswith(f"rbyf: lost the connection to {fake.endpoint} while downloading "
                           f"{FILE} (60.0 MB in; "), line
    assert line.endswith("): check the network, then run the same command to resume"), line
    (partial,) = partials()
    assert partial.stat().st_size == 60_000_000
    assert not (storage() / "snapshots").exists()  # nothing a model list would show
    fake.down = False
    second = run_cli("pull", REPO, "q4_k_m")
    assert second.returncode == 0, second.stderr
    assert cdn_gets(fake)[-1] == "bytes=60000000-"
    assert sha256(Path(last_line(second.stdout))) == demo_sha
    assert partials() == []


def test_ctrl_c_stops_and_the_same_command_resumes(fake: FakeHub, demo_sha: str) -> None:
    fake.rate = 20_000_000  # 13 s for the whole file
    child = subprocess.Popen([sys.executable, "-m", "rbyf_tui", "pull", REPO, "q4_k_m"],
                             cwd=CHECKOUT, env=cli_env(), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (partials() and partials()[0].stat().st_size > 5_000_000):
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert last_line(err) == "stopped: run the same command to resume"
    assert "Traceback" not in err and out == ""
    (partial,) = partials()
    kept = partial.stat().st_size
    assert 5_000_000 < kept < 253_000_000
    assert not (storage() / "snapshots").exists()
    fake.rate = None
    again = run_cli("pull", REPO, "q4_k_m")
    assert again.returncode == 0, again.stderr
    assert cdn_gets(fake)[-1] == f"bytes={kept}-"
    assert sha256(Path(last_line(again.stdout))) == demo_sha


def test_the_stop_event_keeps_the_partial_file_for_the_next_pull(fake: FakeHub,
                                                                 demo_sha: str) -> None:
    """What the app's pull dialog does: stop from another thread, pull again later."""
    file = hub.choose(hub.list_gguf(REPO), FILE)
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 50_000_000:
            stop.set()

    with pytest.raises(hub.PullStopped, match=r"^stopped: .* run the same command to resume"):
        hub.pull(file, progress=progress, stop=stop)
    (partial,) = partials()
    kept = partial.stat().st_size
    assert kept >= 50_000_000
    calls: list[tuple[int, int]] = []
    path = hub.pull(file, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (kept, file.size)  # a resumed pull starts where it was
    assert cdn_gets(fake)[-1] == f"bytes={kept}-"
    assert sha256(path) == demo_sha


def test_a_file_whose_sha256_is_wrong_is_removed(fake: FakeHub) -> None:
    result = run_cli("pull", CORRUPT, "q4_k_m")
    line = last_line(result.stderr)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert line.startswith(f"rbyf: checksum mismatch: {FILE} from {CORRUPT} has sha256 ")
    assert line.endswith("the download was removed: run the same command to download it "
                         "again")
    blobs = storage(CORRUPT) / "blobs"
    assert list(blobs.iterdir()) == []
    assert not (storage(CORRUPT) / "snapshots").exists()


# --- access ----------------------------------------------------------------------------------


def test_a_gated_repo_needs_a_token(fake: FakeHub, demo_sha: str) -> None:
    listing = run_cli("pull", GATED)  # the file list is public, as on the Hub
    assert listing.returncode == 0 and FILE in listing.stdout
    without = run_cli("pull", GATED, "q4_k_m")
    assert assert_one_line_error(without) == (
        f"rbyf: {GATED} is gated: accept its terms at {fake.endpoint}/{GATED}, then set "
        "HF_TOKEN to a read token of that account")
    wrong = run_cli("pull", GATED, "q4_k_m", HF_TOKEN="hf_notTheRightOne123")
    assert assert_one_line_error(wrong) == (
        f"rbyf: {GATED} is gated and your token has no access to it: accept its terms at "
        f"{fake.endpoint}/{GATED} (or use another token in HF_TOKEN)")
    assert not fake.seen("cdn") and not (storage(GATED) / "snapshots").exists()
    fake.requests.clear()
    right = run_cli("pull", GATED, "q4_k_m", HF_TOKEN=TOKEN)
    assert right.returncode == 0, right.stderr
    assert sha256(Path(last_line(right.stdout))) == demo_sha
    heads = fake.seen("api", "HEAD")
    assert heads and all(r.header("Authorization") == f"Bearer {TOKEN}" for r in heads)
    assert [r.header("Authorization") for r in fake.seen("cdn")] == [None]


@pytest.mark.parametrize(("args", "expected"), [
    (["rbyf-tests/no-such-GGUF"],
     "rbyf: unknown repo on the Hub: rbyf-tests/no-such-GGUF (or private: set HF_TOKEN to a "
     "token that can read it): check the name, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF"),
    (["rbyf-tests/no-such-GGUF", "q4_k_m"],
     "rbyf: unknown repo on the Hub: rbyf-tests/no-such-GGUF (or private: set HF_TOKEN to a "
     "token that can read it): check the name, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF"),
    (["gemma"],
     "rbyf: not a Hub repo: 'gemma': give ORG/NAME, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF"),
])
def test_an_unknown_repo_is_one_line(fake: FakeHub, args: list[str], expected: str) -> None:
    assert assert_one_line_error(run_cli("pull", *args)) == expected


def test_offline_is_one_line(fake: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = closed_port()
    for args in ([REPO], [REPO, "q4_k_m"]):
        result = run_cli("pull", *args, HF_ENDPOINT=closed)
        line = assert_one_line_error(result)
        assert line.startswith(f"rbyf: cannot reach the Hugging Face Hub at {closed} ("), line
        assert line.endswith("): check the network (or HF_ENDPOINT), then try again")
    assert assert_one_line_error(run_cli("pull", REPO, "q4_k_m", HF_HUB_OFFLINE="1")) == (
        "rbyf: offline: HF_HUB_OFFLINE is set: unset it to download from the Hub")
    monkeypatch.setenv("HF_ENDPOINT", closed)
    with pytest.raises(hub.PullError, match="cannot reach the Hugging Face Hub"):
        hub.list_gguf(REPO)
    assert not cache().exists()


# --- a full disk: a real small file system (tmpfs in a user and mount namespace) ----------


def _small_disk_available() -> bool:
    if sys.platform != "linux" or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


small_disk = pytest.mark.skipif(not _small_disk_available(),
                                reason="needs unshare -rm and tmpfs (Linux user namespaces)")


def in_small_disk(script: str, size: str) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) with HF_HUB_CACHE on a tmpfs of `size`, seen by it alone; $RBYF is
    the rbyf command."""
    setup = (f'mount -t tmpfs -o size={size} tmpfs "$HF_HUB_CACHE" || exit 9\n'
             f'RBYF="{sys.executable} -m rbyf_tui"\n{script}')
    cache().mkdir(parents=True)
    return subprocess.run(["unshare", "-rm", "sh", "-c", setup], capture_output=True,
                          text=True, cwd=CHECKOUT, env=cli_env(), timeout=300)


@small_disk
def test_a_disk_too_small_is_said_before_anything_is_written(fake: FakeHub) -> None:
    result = in_small_disk(f'$RBYF pull {REPO} q4_k_m; echo "rc=$?"; find "$HF_HUB_CACHE" '
                           '-type f', "4m")
    assert result.stdout.splitlines() == ["rc=1"], result
    assert last_line(result.stderr) == (
        f"rbyf: disk full: {FILE} needs 253 MB more and {cache()} has 4.2 MB free: free "
        "some space or set HF_HUB_CACHE to a bigger disk")
    assert not fake.seen("cdn")


@small_disk
def test_a_disk_that_fills_up_during_the_download(fake: FakeHub, tmp_path: Path,
                                                  demo_sha: str) -> None:
    """Something else fills the disk mid-download: the pull says so, keeps what it has, and
    the same command finishes it once there is room."""
    fake.rate = 50_000_000  # 5 s for the file: the disk fills long before its end
    err = tmp_path / "first.err"
    script = f"""
$RBYF pull {REPO} q4_k_m > /dev/null 2> {err} &
pid=$!
until [ "$(find "$HF_HUB_CACHE" -name '*.incomplete' -size +5M)" ]; do sleep 0.05; done
head -c 300000000 /dev/zero > "$HF_HUB_CACHE/filler" 2> /dev/null
wait $pid; echo "rc=$?"; tail -n 1 {err}
find "$HF_HUB_CACHE" -name '*.incomplete' | wc -l
rm "$HF_HUB_CACHE/filler"
sha256sum "$($RBYF pull {REPO} q4_k_m 2> /dev/null | tail -n 1)"
"""
    result = in_small_disk(script, "300m")
    lines = result.stdout.splitlines()
    assert lines[0] == "rc=1", result
    assert lines[1].startswith(f"rbyf: disk full: {FILE} needs "), lines[1]
    assert lines[1].endswith(" has 0 B free: free some space (or set HF_HUB_CACHE to a bigger "
                             "disk), then run the same command to resume"), lines[1]
    assert lines[2].strip() == "1"  # the partial file was kept
    assert len(lines) == 4 and lines[3].split()[0] == demo_sha, result.stderr
    ranges = cdn_gets(fake)
    assert ranges[0] is None and ranges[-1] is not None and ranges[-1].startswith("bytes=")


# --- a terminal gets one line redrawn -----------------------------------------------------


def test_the_progress_bar_on_a_terminal(fake: FakeHub) -> None:
    fake.rate = 60_000_000
    child = pexpect.spawn(sys.executable, ["-m", "rbyf_tui", "pull", REPO, "q4_k_m"],
                          cwd=str(CHECKOUT), env=cli_env(), dimensions=(24, 100),
                          encoding="utf-8", timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    text = child.before
    assert child.exitstatus == 0, text
    bars = [part for part in text.split("\r") if "MB/s" in part]
    assert len(bars) > 5, text  # redrawn in place
    assert any(" MB/s" in b and "left" in b and "#" in b for b in bars)
    assert all(len(b.rstrip("\n")) <= 99 for b in bars)
    assert bars[-1].split("\n")[0].rstrip().endswith("left")
    assert "100.0%" in bars[-1]
    assert last_line(text).endswith(f"/snapshots/{COMMIT}/{FILE}")


# --- the pulled file is a model rbyf runs -------------------------------------------------


@pytest.mark.model
def test_a_model_named_hf_repo_file_is_pulled_then_runs_under_its_file_name(
        fake: FakeHub, tmp_path: Path, rbyf_home: Path) -> None:
    catalog = tmp_path / "mini.toml"
    catalog.write_text(MINI, encoding="utf-8")
    result = run_cli("run", "--model", f"hf:{REPO}/{FILE}", "--catalog", str(catalog),
                     "--max-tokens", "4", home=rbyf_home)
    assert result.returncode == 0, result.stderr
    assert "pulling" in result.stderr  # not in the cache yet: downloaded first
    assert len([line for line in result.stdout.splitlines() if line.startswith("[")]) == 3
    [model] = rows(rbyf_home / "rbyf.duckdb", "SELECT name, path FROM models")
    assert model["name"] == FILE.removesuffix(".gguf")  # not the blob's sha256
    again = run_cli("run", "--model", f"hf:{REPO}/{FILE}", "--catalog", str(catalog),
                    "--max-tokens", "4", home=rbyf_home)
    assert again.returncode == 0, again.stderr
    assert "pulling" not in again.stderr  # the cached file is used
