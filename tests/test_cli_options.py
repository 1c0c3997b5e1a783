"""The README's command-line promises, through the real `rbyf` command in a subprocess: the
model options on the demo model, a broken GGUF, the DB's location, and a server's key,
timeouts and refused connections. What each option changed is read back from the DB file."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import LEGACY, assert_one_line_error, run_cli
from gguf_file import CUT_SHORT_ERROR, Entry, cut_short, rewrite, string_value
from helpers import rows
from openai_server import FakeServer, Handler, serving

RUBRIC = '\n[rubric]\n0 = "0"\n1 = "1"\n2 = "2"\n3 = "3"\n4 = "4"\n5 = "5"\n'


def catalog_file(folder: Path, name: str, tasks: dict[str, str], extra: str = "",
                 max_tokens: int = 4) -> Path:
    """A catalog of the given task keys and prompts, no warm-up, short answers."""
    text = (f'name = "{name}"\nversion = "1"\n{extra}\n[defaults]\n'
            f"max_tokens = {max_tokens}\ntemperature = 0.1\n{RUBRIC}")
    for key, prompt in tasks.items():
        text += f'\n[[tasks]]\nkey = "{key}"\ntitle = "Task {key}"\nprompt = """{prompt}"""\n'
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def ok_run(*args: str, home: Path, **env: str) -> str:
    """`rbyf run ...` that must succeed; returns the session id (its last line)."""
    result = run_cli("run", *args, home=home, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout.strip().splitlines()[-1]


def settings_of(db: Path, session_id: str) -> dict[str, Any]:
    [row] = rows(db, "SELECT settings FROM sessions WHERE id = ?", [session_id])
    return json.loads(row["settings"])


def generations(db: Path, session_id: str) -> list[dict[str, Any]]:
    return rows(db, "SELECT * FROM generations WHERE session_id = ? ORDER BY started_at",
                [session_id])


def failures(home: Path, db: Path | None = None) -> list[dict[str, Any]]:
    args = ["sessions", "--failures", "--json"] + (["--db", str(db)] if db else [])
    result = run_cli(*args, home=home)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- a GGUF that starts right and is broken: llama.cpp itself refuses it ----------------


@pytest.fixture(scope="module")
def cut_model(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo model's whole header (magic, version, metadata, tensor list), then 4 KB of
    its 250 MB of tensors: rbyf's own check passes it, llama.cpp's load does not."""
    return cut_short(demo_model, tmp_path_factory.mktemp("broken") / "cut.gguf")


CUT_ERROR = f"rbyf: llama.cpp could not load cut.gguf: {CUT_SHORT_ERROR}"


@pytest.mark.model
def test_a_broken_gguf_is_llama_cpps_error_in_one_line_and_stored(
        cut_model: Path, rbyf_home: Path) -> None:
    result = run_cli("run", "--model", str(cut_model), "--max-tokens", "4", home=rbyf_home)
    assert assert_one_line_error(result) == CUT_ERROR
    (failure,) = failures(rbyf_home)
    assert (failure["model"], failure["origin"], failure["backend"]) == (
        str(cut_model.resolve()), "run", "llama.cpp")
    assert failure["error"] == CUT_ERROR.removeprefix("rbyf: ")
    listing = run_cli("sessions", home=rbyf_home)
    assert "no sessions yet" in listing.stdout  # nothing was started


@pytest.mark.model
def test_a_gguf_whose_metadata_is_garbage(demo_model: Path, rbyf_home: Path,
                                          tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.gguf"
    with demo_model.open("rb") as fh:
        start = fh.read(24)  # magic, version, tensor count, metadata count
    garbage.write_bytes(start + bytes(range(256)) * 64)
    line = assert_one_line_error(run_cli("run", "--model", str(garbage), home=rbyf_home))
    # llama.cpp's own reason, not only "Failed to load model from file"
    assert re.fullmatch(r"rbyf: llama\.cpp could not load garbage\.gguf: \S.*", line), line
    assert "Failed to load model from file" not in line
    assert failures(rbyf_home)[0]["error"] == line.removeprefix("rbyf: ")


# --- model options -------------------------------------------------------------------


@pytest.mark.model
def test_threads_and_gpu_layers_are_recorded(rbyf_home: Path, tmp_path: Path,
                                             demo_model: Path) -> None:
    # This machine has no GPU: the layers are asked for (and recorded), llama.cpp keeps
    # them on the CPU, and the run works.
    catalog = catalog_file(tmp_path, "one", {"a": "Say hi."})
    db = tmp_path / "opts.duckdb"
    result = run_cli("run", "--catalog", str(catalog), "--db", str(db), "--threads", "1",
                     "--gpu-layers", "3", "--seed", "5", home=rbyf_home)
    assert result.returncode == 0, result.stderr
    assert ", 1 threads)" in result.stdout  # the model line says what it runs with
    session = result.stdout.strip().splitlines()[-1]
    settings = settings_of(db, session)
    assert (settings["threads"], settings["n_gpu_layers"], settings["seed"]) == (1, 3, 5)
    [model] = rows(db, "SELECT info FROM models")
    info = json.loads(model["info"])
    assert (info["threads"], info["n_gpu_layers"]) == (1, 3)
    assert [g["status"] for g in generations(db, session)] == ["ok"]


@pytest.mark.model
def test_a_chat_format_given_is_the_one_used(rbyf_home: Path, tmp_path: Path,
                                             demo_model: Path) -> None:
    from llama_cpp import Llama, llama_chat_format

    prompt = "Name a colour."
    catalog = catalog_file(tmp_path, "one", {"a": prompt})
    db = tmp_path / "chatml.duckdb"
    session = ok_run("--catalog", str(catalog), "--db", str(db), "--chat-format", "chatml",
                     home=rbyf_home)
    assert settings_of(db, session)["chat_format"] == "chatml"
    [model] = rows(db, "SELECT chat_format FROM models")
    assert model["chat_format"] == "chatml"
    # The model read the prompt in ChatML, not in Gemma's own turns.
    vocab = Llama(model_path=str(demo_model), vocab_only=True, verbose=False)
    messages = [{"role": "user", "content": prompt}]

    def count(formatted: str) -> int:
        return len(vocab.tokenize(formatted.encode(), add_bos=True, special=True))

    chatml = count(llama_chat_format.format_chatml(messages=messages).prompt)
    gemma = count(llama_chat_format.format_gemma(messages=messages).prompt)
    assert chatml != gemma
    [gen] = generations(db, session)
    assert gen["prompt_tokens"] == chatml and gen["status"] == "ok"


@pytest.mark.model
def test_an_unknown_chat_format_lists_the_known_ones(rbyf_home: Path, demo_model: Path) -> None:
    line = assert_one_line_error(run_cli("run", "--chat-format", "klingon", home=rbyf_home))
    assert line.startswith("rbyf: unknown chat format 'klingon': use one of ")
    known = line.split("use one of ", 1)[1].split(", ")
    assert {"chatml", "gemma", "llama-3", "mistral-instruct"} <= set(known)
    assert failures(rbyf_home)[0]["error"] == line.removeprefix("rbyf: ")


@pytest.fixture(scope="module")
def templateless_model(demo_model: Path,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo model under an architecture llama.cpp loads (EmbeddingGemma has Gemma 3's
    tensors) but whose chat format rbyf cannot guess; like the demo, no chat template."""

    def edit(entry: Entry) -> Entry | None:
        if entry.key == "tokenizer.chat_template":
            return None
        if entry.key == "general.architecture":
            return Entry(entry.key, entry.type, string_value("gemma-embedding"))
        if entry.key.startswith("gemma3."):
            return Entry("gemma-embedding." + entry.key.removeprefix("gemma3."), entry.type,
                         entry.raw)
        return entry

    folder = tmp_path_factory.mktemp("templateless")
    path = rewrite(demo_model, folder / "mystery.gguf", edit)
    yield path
    path.unlink()  # 250 MB


@pytest.mark.model
def test_no_template_and_an_unknown_architecture_says_pass_chat_format(
        templateless_model: Path, rbyf_home: Path) -> None:
    line = assert_one_line_error(run_cli("run", "--model", str(templateless_model),
                                         home=rbyf_home))
    assert line == (
        "rbyf: mystery.gguf has no chat template and its architecture 'gemma-embedding' does "
        "not tell which to use: pass --chat-format (for example chatml, llama-3, llama-2, "
        "mistral-instruct or gemma)")
    assert failures(rbyf_home)[0]["error"] == line.removeprefix("rbyf: ")


ARTICLE = " ".join(
    f"Paragraph {n}: the harbour town kept its lighthouse lit through every winter storm, "
    "and the keepers wrote the weather in a ledger each night." for n in range(5))


@pytest.mark.model
def test_reuse_prefix_evaluates_only_what_the_cache_lacks(rbyf_home: Path, tmp_path: Path,
                                                          demo_model: Path) -> None:
    catalog = catalog_file(tmp_path, "shared", {
        "first": "{{article}}\n\nWho kept the light?",
        "second": "{{article}}\n\nWhat did they write down?",
    }, extra=f'[texts]\narticle = """{ARTICLE}"""\n', max_tokens=1)
    db = tmp_path / "prefix.duckdb"
    args = ("--catalog", str(catalog), "--db", str(db), "--seed", "1")
    fresh = ok_run(*args, home=rbyf_home)
    reused = ok_run(*args, "--reuse-prefix", home=rbyf_home)
    assert settings_of(db, fresh)["reuse_prefix"] is False
    assert settings_of(db, reused)["reuse_prefix"] is True

    def evaluated(session: str) -> list[tuple[int, int]]:
        return [(json.loads(g["extra"])["engine_prompt_tokens"], g["prompt_tokens"])
                for g in generations(db, session)]

    # By default each task starts from an empty cache: the whole prompt is evaluated.
    assert all(done == whole for done, whole in evaluated(fresh))
    (first, first_whole), (second, second_whole) = evaluated(reused)
    assert first == first_whole > 120  # the cache starts empty
    assert 0 < second < 30 < second_whole  # only the question after the shared article
    # prompt t/s divides the tokens evaluated, not the whole prompt, by the time they took
    for session, cached in ((fresh, [0, 0]), (reused, [0, second_whole - second])):
        rows_ = generations(db, session)[-2:]
        assert [g["prompt_cached_tokens"] for g in rows_] == cached
        for g in rows_:
            assert g["prompt_eval_tokens"] + g["prompt_cached_tokens"] == g["prompt_tokens"]
            assert g["prompt_tps"] == pytest.approx(g["prompt_eval_tokens"] / g["ttft_s"])


@pytest.mark.model
def test_verbose_shows_llama_cpps_output_instead_of_logging_it(rbyf_home: Path, tmp_path: Path,
                                                               demo_model: Path) -> None:
    catalog = catalog_file(tmp_path, "one", {"a": "Say hi."}, max_tokens=2)
    result = run_cli("run", "--catalog", str(catalog), "--verbose", home=rbyf_home)
    assert result.returncode == 0, result.stderr
    assert "llama_model_loader: loaded meta data" in result.stderr
    log = rbyf_home / "logs" / "llama.log"
    assert not log.exists() or "llama_model_loader" not in log.read_text(errors="replace")
    assert result.stdout.strip().splitlines()[-1]  # the run itself went on as usual


# --- where the DB is: --db, else $RBYF_DB, else the data dir ---------------------------


def test_rbyf_db_is_used_and_db_wins_over_it(rbyf_home: Path, tmp_path: Path) -> None:
    env_db, flag_db = tmp_path / "from-env.duckdb", tmp_path / "from-flag.duckdb"
    gemma = [str(LEGACY / "gemma-2-2b-it_CPP_8DYBB.csv"),
             str(LEGACY / "gemma-2-2b-it_CPP_8DYBB_log.txt")]
    qwen = [str(LEGACY / "Qwen2.5-1.5B-it_CPP_YWDAB.csv"),
            str(LEGACY / "Qwen2.5-1.5B-it_CPP_YWDAB_log.txt")]
    result = run_cli("import", *gemma, home=rbyf_home, RBYF_DB=str(env_db))
    assert result.returncode == 0, result.stderr
    result = run_cli("import", *qwen, "--db", str(flag_db), home=rbyf_home,
                     RBYF_DB=str(env_db))
    assert result.returncode == 0, result.stderr
    assert not (rbyf_home / "rbyf.duckdb").exists()  # the default was never touched

    def listed(*args: str, **env: str) -> list[str]:
        result = run_cli("sessions", "--json", *args, home=rbyf_home, **env)
        assert result.returncode == 0, result.stderr
        return [s["model"] for s in json.loads(result.stdout)]

    assert listed(RBYF_DB=str(env_db)) == ["gemma-2-2b-it-q5_k_m"]
    assert listed("--db", str(flag_db), RBYF_DB=str(env_db)) == ["qwen2.5-1.5b-instruct-q5_k_m"]
    board = run_cli("leaderboard", "--format", "json", home=rbyf_home, RBYF_DB=str(env_db))
    assert [r["model"] for r in json.loads(board.stdout)] == ["gemma-2-2b-it-q5_k_m"]
    # the app reads the same file: resuming a session of it is refused before the screen
    session = json.loads(run_cli("sessions", "--json", home=rbyf_home,
                                 RBYF_DB=str(env_db)).stdout)[0]["id"]
    line = assert_one_line_error(run_cli("--resume", session, home=rbyf_home, timeout=60,
                                         RBYF_DB=str(env_db)))
    assert line.startswith(f"rbyf: session {session} is complete")
    line = assert_one_line_error(run_cli("--resume", session, "--db", str(flag_db),
                                         home=rbyf_home, timeout=60, RBYF_DB=str(env_db)))
    assert session in line and "is complete" not in line  # not in the --db file


# --- a server: its key, its timeouts, a refused connection ----------------------------


def test_user_and_password_in_the_base_url_are_basic_auth_and_never_stored_or_shown(
        rbyf_home: Path, tmp_path: Path) -> None:
    import base64

    catalog = catalog_file(tmp_path, "one", {"a": "Say hi."})
    db = tmp_path / "basic.duckdb"
    with serving() as server:
        url = server.url.replace("http://", "http://rater:s3cret-pw@")
        session = ok_run("--backend", "openai", "--base-url", url, "--api-model",
                         "fake-model", "--catalog", str(catalog), "--db", str(db),
                         home=rbyf_home, RBYF_API_KEY="", OPENAI_API_KEY="")
        sent = {h.get("Authorization") for _, _, h in server.requests}
    assert sent == {"Basic " + base64.b64encode(b"rater:s3cret-pw").decode()}
    assert settings_of(db, session)["base_url"] == server.url
    [model] = rows(db, "SELECT id FROM models")
    assert model["id"] == f"openai:{server.url}#fake-model"
    # nowhere: not in the DB file, not in a failed load's line or record, not in the logs
    gone = url.replace(str(server.server_address[1]), "9")  # nothing listens there
    result = run_cli("run", "--backend", "openai", "--base-url", gone, "--api-model", "m",
                     "--catalog", str(catalog), "--db", str(db), home=rbyf_home, timeout=60)
    line = assert_one_line_error(result)
    assert "s3cret" not in line and "127.0.0.1:9/v1" in line
    assert b"s3cret" not in db.read_bytes()
    assert [f["model"] for f in failures(rbyf_home, db)] == ["m at http://127.0.0.1:9/v1"]
    for path in (rbyf_home / "logs").glob("*"):
        assert "s3cret" not in path.read_text(encoding="utf-8", errors="replace")


def test_openai_api_key_reaches_the_server_and_rbyf_api_key_comes_first(
        rbyf_home: Path, tmp_path: Path) -> None:
    catalog = catalog_file(tmp_path, "one", {"a": "Say hi."})
    db = tmp_path / "keys.duckdb"
    with serving() as server:
        base = ("--backend", "openai", "--base-url", server.url, "--api-model", "locked",
                "--catalog", str(catalog), "--db", str(db))
        ok_run(*base, home=rbyf_home, RBYF_API_KEY="", OPENAI_API_KEY="good-key")
        sent = {h.get("Authorization") for _, _, h in server.requests}
        assert sent == {"Bearer good-key"}
        server.requests.clear()
        ok_run(*base, home=rbyf_home, RBYF_API_KEY="good-key", OPENAI_API_KEY="other-key")
        assert {h.get("Authorization") for _, _, h in server.requests} == {"Bearer good-key"}
    gens = rows(db, "SELECT status, response FROM generations")
    assert [g["status"] for g in gens] == ["ok", "ok"]  # "locked" answers only that key
    assert b"good-key" not in db.read_bytes()


def test_first_token_timeout_bounds_the_wait_and_the_run_goes_on(rbyf_home: Path,
                                                                 tmp_path: Path) -> None:
    catalog = catalog_file(tmp_path, "slow", {"slow": "please #slowfirst", "after": "plain"},
                           max_tokens=8)
    db = tmp_path / "slow.duckdb"
    with serving(pause_s=2.5) as server:
        base = ("--backend", "openai", "--base-url", server.url, "--api-model", "fake-model",
                "--catalog", str(catalog), "--db", str(db))
        bounded = ok_run(*base, "--first-token-timeout", "1", home=rbyf_home)
        patient = ok_run(*base, home=rbyf_home)  # the default waits far longer than 2.5 s
        url = server.url
    slow, after = generations(db, bounded)
    assert (slow["status"], after["status"]) == ("error", "ok")
    assert slow["error"] == (f"{url} sent nothing for 1 s while waiting for the first token: "
                             "the server is stuck or overloaded")
    assert [g["status"] for g in generations(db, patient)] == ["ok", "ok"]


class _AnswersOnce(Handler):
    """Answers the model list only once the listening socket is closed behind it: the
    request that follows (the first task's) finds nobody at that port."""

    def do_GET(self) -> None:
        assert self.server.closed.wait(10)  # type: ignore[attr-defined]
        super().do_GET()


@pytest.fixture
def vanishing_server() -> Iterator[FakeServer]:
    """A server that serves `rbyf run`'s load, then is gone: its port refuses connections."""
    server = FakeServer()
    server.RequestHandlerClass = _AnswersOnce
    server.closed = threading.Event()  # type: ignore[attr-defined]

    def serve_one() -> None:
        server.handle_request()  # accepts the load's connection; a thread answers it
        server.server_close()
        server.closed.set()  # type: ignore[attr-defined]

    threading.Thread(target=serve_one, daemon=True).start()
    yield server
    server.server_close()


def test_a_refused_connection_during_a_run_is_retried(rbyf_home: Path, tmp_path: Path,
                                                      vanishing_server: FakeServer) -> None:
    catalog = catalog_file(tmp_path, "two", {"a": "Say hi.", "b": "Say bye."}, max_tokens=8)
    db = tmp_path / "retry.duckdb"
    port = vanishing_server.server_address[1]
    back: list[FakeServer] = []

    def a_started() -> bool:  # its row is written just before its first request
        try:
            return bool(rows(db, "SELECT 1 FROM generations WHERE task_key = 'a'"))
        except duckdb.Error:  # not made yet, or the run has it open this moment
            return False

    def come_back() -> None:  # before the last retry (after 0.5 + 1 + 2 s of backoff)
        assert vanishing_server.closed.wait(30)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 120
        while not a_started() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
        server = FakeServer(port=port)
        back.append(server)
        server.serve_forever(poll_interval=0.05)

    threading.Thread(target=come_back, daemon=True).start()
    try:
        session = ok_run("--backend", "openai", "--base-url", vanishing_server.url,
                         "--api-model", "fake-model", "--catalog", str(catalog), "--db",
                         str(db), home=rbyf_home)
    finally:
        deadline = time.monotonic() + 10
        while not back and time.monotonic() < deadline:
            time.sleep(0.05)
        for server in back:
            server.shutdown()
            server.server_close()
    first, second = generations(db, session)
    assert (first["status"], first["response"]) == ("ok", "Hello from the fake server.")
    assert first["ttft_s"] > 0.4  # it waited out refused attempts, then got its answer
    assert second["status"] == "ok"
    assert [p for _, p, _ in back[0].requests] == ["/v1/chat/completions"] * 2


def test_a_server_gone_for_good_is_each_tasks_error_and_the_run_ends(
        rbyf_home: Path, tmp_path: Path, vanishing_server: FakeServer) -> None:
    catalog = catalog_file(tmp_path, "two", {"a": "Say hi.", "b": "Say bye."}, max_tokens=8)
    db = tmp_path / "gone.duckdb"
    url = vanishing_server.url
    started = time.monotonic()
    result = run_cli("run", "--backend", "openai", "--base-url", url, "--api-model",
                     "fake-model", "--catalog", str(catalog), "--db", str(db), home=rbyf_home)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started > 2 * 3.5  # each task waited out its retries
    session = result.stdout.strip().splitlines()[-1]
    error = f"connection refused by {url}: is the server running? (tried 4 times)"
    gens = generations(db, session)
    assert [(g["task_key"], g["status"], g["error"]) for g in gens] == [
        ("a", "error", error), ("b", "error", error)]
    assert "done: 2 tasks" in result.stdout and "2 with errors" in result.stdout
    assert sum(f"error  {error}" in line for line in result.stdout.splitlines()) == 2


# --- the leaderboard of one catalog ---------------------------------------------------


def test_leaderboard_catalog_shows_only_that_catalog(rbyf_home: Path, tmp_path: Path) -> None:
    db = tmp_path / "board.duckdb"
    result = run_cli("import", str(LEGACY), "--db", str(db), home=rbyf_home)
    assert result.returncode == 0, result.stderr
    catalog = catalog_file(tmp_path, "other", {"a": "Say hi."})
    with serving() as server:
        session = ok_run("--backend", "openai", "--base-url", server.url, "--api-model",
                         "fake-model", "--catalog", str(catalog), "--db", str(db),
                         home=rbyf_home)
    rated = run_cli("rate", "--db", str(db), "--session", session, "--task", "a", "--score",
                    "4", home=rbyf_home)
    assert rated.returncode == 0, rated.stderr

    def board(*args: str) -> list[dict[str, Any]]:
        result = run_cli("leaderboard", "--db", str(db), "--format", "json", *args,
                         home=rbyf_home)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    everything = board()
    assert {r["catalog"] for r in everything} == {"rbyf-v2", "other"}
    [other] = board("--catalog", "other")
    assert (other["model"], other["catalog"], other["total"], other["rank"]) == (
        "fake-model", "other", 4, 1)
    legacy = board("--catalog", "rbyf-v2")
    assert legacy and {r["catalog"] for r in legacy} == {"rbyf-v2"}
    assert sorted(r["model"] for r in legacy) == sorted(
        r["model"] for r in everything if r["catalog"] == "rbyf-v2")
    table = run_cli("leaderboard", "--db", str(db), "--catalog", "other", home=rbyf_home).stdout
    body = table.splitlines()[2:]
    assert len(body) == 1 and "fake-model" in body[0] and "4/5" in body[0]
    assert "rbyf-v2" not in table
