"""Import of the old scripts' CSV and log files, against the real fixtures and a real DB."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from rbyf_tui import catalog as catalogs
from rbyf_tui import legacy, ranking
from rbyf_tui.metrics import tiktoken_count
from rbyf_tui.store import Store

from conftest import LEGACY
from helpers import rows

QWEN = "Qwen2.5-1.5B-it_CPP_YWDAB"
GEMMA = "gemma-2-2b-it_CPP_8DYBB"
LLAMA1 = "LLAMA3.2-1Bit_CPP_62QL3"
LLAMA3 = "Llama-3.2-3B-Instruct_CPP_CPZXL"
EXPECTED = {  # model -> (rated, total), as the issue states them
    "qwen2.5-1.5b-instruct-q5_k_m": (14, 57),
    "gemma-2-2b-it-q5_k_m": (14, 70),
    "Llama-3.2-3B-Instruct": (14, 69),
    "Llama-3.2-1B-Instruct-Q8_0": (13, 44),
}
TABLES = ("models", "catalogs", "sessions", "generations", "ratings")


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in TABLES}
    finally:
        con.close()


def csv_votes(name: str) -> list[tuple[str, int, str]]:
    """(title, vote, remarks) read straight from a fixture with the csv module."""
    text = (LEGACY / f"{name}.csv").read_text(encoding="utf-8")
    return [(r[1], int(r[2]), r[3]) for r in list(csv.reader(io.StringIO(text)))[1:]]


def log_ratings(name: str) -> list[tuple[str, int, str]]:
    """(title, vote, remarks) from a log: the scripts' CSV took rating[:2] and rating[2:]."""
    text = (LEGACY / f"{name}_log.txt").read_bytes().decode("utf-8")
    ratings = re.findall(r"User rating: (.*?)\r\n.*?NLP TAKS: +(.*?)\r\n", text)
    return [(title, int(r[:2]), r[2:]) for r, title in ratings
            if title != "Alignment Generation"]


def import_all(db: Path, paths: list[Path] | None = None, **kw: Any) -> legacy.ImportReport:
    return legacy.import_paths(Store(db), paths or [LEGACY], **kw)


def counted(db: Path, model: str) -> dict[str, dict[str, Any]]:
    """The counted rating and its answer per task title, for one model."""
    found = rows(db, """
        SELECT g.task_title, g.task_key, g.prompt, g.response, g.ttft_s, g.total_s,
               g.prompt_tokens, g.completion_tokens, g.prompt_tps, g.decode_tps, g.e2e_tps,
               g.prompt_tiktoken, g.completion_tiktoken, g.extra, g.is_warmup, r.score,
               r.remarks, r.rater, r.created_at AS rated_at, g.started_at
        FROM ratings r JOIN generations g ON g.id = r.generation_id
        JOIN sessions s ON s.id = g.session_id JOIN models m ON m.id = s.model_id
        WHERE m.name = ?""", [model])
    return {r["task_title"]: r for r in found}


def test_every_fixture_imports_with_the_totals_of_the_old_scripts(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    report = import_all(db)
    assert report.failed == []
    assert sorted(i.plan.run.label for i in report.imported) == sorted([
        f"{LLAMA1}_log.txt", f"{LLAMA3}.csv", f"{QWEN}.csv + {QWEN}_log.txt",
        f"{GEMMA}.csv + {GEMMA}_log.txt"])
    board = ranking.leaderboard(Store(db))
    assert {s.model: (s.n_rated, s.total) for s in board} == EXPECTED
    assert {s.catalog for s in board} == {"rbyf-v2"} and {s.n_tasks for s in board} == {14}
    sessions = rows(db, "SELECT origin, status, n_tasks, rater FROM sessions")
    assert {(s["origin"], s["status"], s["n_tasks"], s["rater"]) for s in sessions} == {
        ("import", "complete", 14, "tester")}
    llama1 = next(i.plan for i in report.imported if i.plan.run.stem == LLAMA1)
    assert llama1.missing(catalogs.resolve("rbyf-v2")) == ["say 'I am ready'"]


@pytest.mark.parametrize(("stem", "model"), [
    (QWEN, "qwen2.5-1.5b-instruct-q5_k_m"), (GEMMA, "gemma-2-2b-it-q5_k_m"),
    (LLAMA3, "Llama-3.2-3B-Instruct")])
def test_votes_and_remarks_are_the_csvs_exactly(tmp_path: Path, stem: str, model: str) -> None:
    db = tmp_path / "rbyf.duckdb"
    import_all(db)
    got = counted(db, model)
    expected = csv_votes(stem)
    assert len(expected) == 14
    for title, vote, remarks in expected:
        assert (got[title]["score"], got[title]["remarks"]) == (vote, remarks), title


def test_a_log_alone_gives_its_own_ratings_and_remarks(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    import_all(db)
    got = counted(db, "Llama-3.2-1B-Instruct-Q8_0")
    expected = log_ratings(LLAMA1)
    assert len(expected) == 13
    for title, vote, remarks in expected:
        assert (got[title]["score"], got[title]["remarks"]) == (vote, remarks), title
    assert got["RAG"]["remarks"] == "- it looks that this RAG format is not good for Llama3.2"
    assert got["Table of Contents"]["remarks"] == "good one"
    # Its run predates TTFT in the logs: no TTFT, the inference time is there.
    assert {r["ttft_s"] for r in got.values()} == {None}
    assert got["RAG"]["total_s"] == pytest.approx(29.744030)


def test_a_pair_takes_answers_and_figures_from_the_log_votes_from_the_csv(
        tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    import_all(db)
    toc = counted(db, "gemma-2-2b-it-q5_k_m")["Table of Contents"]
    # The log says "5 it is quite good"; the CSV, edited after the run, says more.
    assert (toc["score"], toc["remarks"]) == (5, "it is quite good indeed")
    log = (LEGACY / f"{GEMMA}_log.txt").read_bytes().decode("utf-8").replace("\r\n", "\n")
    assert toc["prompt"].startswith('A "table of content" is an ordered list of the topic')
    assert toc["prompt"].endswith("[end of text]\n")
    assert toc["response"].startswith("## Table of Contents\n\n1. **Introduction")
    assert toc["response"].endswith("lead global environmental efforts\n\n")
    assert f"💻 > {toc['response']}\n---\nPrompt Tokens: 418\n" in log
    assert f"👨\u200d💻 > {toc['prompt']}\n💻 > ## Table" in log
    assert (toc["ttft_s"], toc["total_s"]) == (pytest.approx(34.009144), pytest.approx(79.70132))
    # The seed's token counts are tiktoken counts of the raw texts, not the model's own.
    for figure in ("prompt_tokens", "completion_tokens", "prompt_tps", "decode_tps", "e2e_tps"):
        assert toc[figure] is None, figure
    assert toc["prompt_tiktoken"] == tiktoken_count(toc["prompt"])
    assert toc["completion_tiktoken"] == tiktoken_count(toc["response"])
    assert json.loads(toc["extra"])["legacy"] == {
        "source": f"{GEMMA}_log.txt", "line": 193, "rating_from": "csv",
        "seed_figures": {"prompt_tokens": 418, "output_tokens": 229, "total_tokens": 647,
                         "inference_speed_tps": 8.118, "generation_speed_tps": 2.873,
                         "logfile": f"logs/{GEMMA}_log.txt"}}


def test_the_warm_up_is_kept_and_never_counts(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    import_all(db)
    warm = counted(db, "qwen2.5-1.5b-instruct-q5_k_m")["Alignment Generation"]
    assert (warm["task_key"], warm["is_warmup"], warm["score"]) == ("warmup", True, 5)
    assert warm["prompt"] == "Explain the plot of Cinderella in a sentence."
    assert warm["response"].startswith("Cinderella is about an orphaned girl")
    board = {s.model: s for s in ranking.leaderboard(Store(db))}
    assert board["qwen2.5-1.5b-instruct-q5_k_m"].n_rated == 14


def test_a_csv_alone_has_votes_but_no_answers(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    import_all(db, [LEGACY / f"{LLAMA3}.csv"])
    got = counted(db, "Llama-3.2-3B-Instruct")
    assert len(got) == 14
    reflection = got["Reflection prompt"]
    assert (reflection["prompt"], reflection["response"], reflection["total_s"]) == ("", "", None)
    assert json.loads(reflection["extra"])["legacy"]["answer"].startswith("not kept")
    # Tasks keep the CSV's order.
    order = sorted(got.values(), key=lambda r: r["started_at"])
    assert [r["task_title"] for r in order] == [t for t, _, _ in csv_votes(LLAMA3)]


def test_times_come_from_the_log_header(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    import_all(db, [LEGACY / f"{QWEN}_log.txt"], tz=ZoneInfo("Europe/Berlin"))
    session = rows(db, "SELECT created_at, settings FROM sessions")[0]
    # 08:33 in Berlin, summer time (UTC+2), stored in UTC
    assert session["created_at"] == datetime(2024, 10, 1, 6, 33, 35, 338306)
    settings = json.loads(session["settings"])["import"]
    assert settings["log_started_local"] == "2024-10-01 08:33:35.338306"
    assert (settings["log_zone"], settings["log_utc_offset"]) == ("Europe/Berlin", "+0200")
    got = sorted(counted(db, "qwen2.5-1.5b-instruct-q5_k_m").values(),
                 key=lambda r: r["started_at"])
    assert got[0]["task_title"] == "Alignment Generation"
    assert got[0]["started_at"] == session["created_at"]
    assert [r["rated_at"] for r in got] == sorted(r["rated_at"] for r in got)


def test_without_a_zone_the_log_is_read_in_this_machines(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    import_all(db, [LEGACY / f"{QWEN}_log.txt"])
    session = rows(db, "SELECT created_at, settings FROM sessions")[0]
    local = datetime(2024, 10, 1, 8, 33, 35, 338306).astimezone()  # in $TZ (see conftest.py)
    assert session["created_at"] == local.astimezone(UTC).replace(tzinfo=None)
    assert json.loads(session["settings"])["import"]["log_zone"] == os.environ["TZ"].lstrip(":")


@pytest.mark.parametrize(("files", "model", "name"), [
    ([f"{QWEN}.csv"], None, "Qwen2.5-1.5B-it"),  # no log: the file name, run suffix dropped
    ([f"{QWEN}.csv", f"{QWEN}_log.txt"], None, "qwen2.5-1.5b-instruct-q5_k_m"),
    ([f"{QWEN}_log.txt"], "my-qwen", "my-qwen"),
])
def test_the_model_name(tmp_path: Path, files: list[str], model: str | None,
                        name: str) -> None:
    db = tmp_path / "rbyf.duckdb"
    import_all(db, [LEGACY / f for f in files], model=model)
    assert [(m["id"], m["name"], m["backend"]) for m in rows(db, "SELECT * FROM models")] == [
        (f"legacy:{name}", name, "legacy")]


def test_importing_again_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    first = import_all(db)
    before = snapshot(db)
    again = import_all(db, sorted(LEGACY.iterdir()))  # as files this time, same runs
    assert snapshot(db) == before
    assert {(i.session_id, i.created) for i in again.imported} == {
        (i.session_id, False) for i in first.imported}
    assert len(before["sessions"]) == 4 and len(before["ratings"]) == 4 * 14 - 1 + 3


def copies(folder: Path, source: str, *names: str) -> list[Path]:
    """The fixture `source` under other names (same bytes), in `folder`."""
    folder.mkdir(exist_ok=True)
    data = (LEGACY / source).read_bytes()
    for name in names:
        (folder / name).write_bytes(data)
    return [folder / name for name in names]


def test_runs_whose_csvs_have_the_same_bytes_are_sessions_of_their_own(tmp_path: Path) -> None:
    """Two models (and two runs of one model) given the same votes: the file names tell
    the runs apart, the model they name becomes each one's model."""
    runs = copies(tmp_path / "old", f"{LLAMA3}.csv", "ModelA_CPP_AAAAA.csv",
                  "ModelB_CPP_BBBBB.csv", "ModelA_CPP_CCCCC.csv")
    db = tmp_path / "rbyf.duckdb"
    first = import_all(db, runs)
    assert [(i.plan.model, i.created) for i in first.imported] == [
        ("ModelA", True), ("ModelB", True), ("ModelA", True)]
    assert len({i.session_id for i in first.imported}) == 3
    board = {s.model: (s.n_rated, s.total) for s in ranking.leaderboard(Store(db))}
    assert board == {"ModelA": (14, 69), "ModelB": (14, 69)}
    before = snapshot(db)
    again = import_all(db, [tmp_path / "old"])
    assert snapshot(db) == before
    assert sorted((i.session_id, i.created) for i in again.imported) == sorted(
        (i.session_id, False) for i in first.imported)


def test_the_same_file_under_another_model_name_is_another_session(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    csv_file = [LEGACY / f"{QWEN}.csv"]
    one = import_all(db, csv_file, model="qwen-q5").imported[0]
    other = import_all(db, csv_file, model="qwen-q8").imported[0]
    assert one.created and other.created and one.session_id != other.session_id
    assert import_all(db, csv_file, model="qwen-q8").imported[0].session_id == (
        other.session_id)
    assert sorted(m["name"] for m in rows(db, "SELECT name FROM models")) == [
        "qwen-q5", "qwen-q8"]


def test_a_db_imported_before_the_fix_recognises_its_runs(tmp_path: Path) -> None:
    """Before, the second of two runs with the same bytes was taken for the first: the DB
    holds one session for both. Importing them again adds the missing run only."""
    runs = copies(tmp_path / "old", f"{LLAMA3}.csv", "ModelA_CPP_AAAAA.csv",
                  "ModelB_CPP_BBBBB.csv")
    db = tmp_path / "rbyf.duckdb"
    import_all(db, runs[:1])  # what the old import stored of the pair (settings.import)
    (session,) = rows(db, "SELECT id, settings FROM sessions")
    stored = json.loads(session["settings"])["import"]
    assert set(stored) == {"sha256", "files", "model_from", "log_started_local", "log_zone",
                           "log_utc_offset", "sampling"}
    again = import_all(db, runs)
    assert [(i.plan.model, i.session_id == session["id"], i.created)
            for i in again.imported] == [("ModelA", True, False), ("ModelB", False, True)]


def test_an_empty_vote_in_the_csv_keeps_the_logs_vote_and_remarks(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    copies(folder, f"{GEMMA}_log.txt", f"{GEMMA}_log.txt")
    text = (LEGACY / f"{GEMMA}.csv").read_bytes().decode("utf-8")
    edited = text.replace("8,Table of Contents,5,it is quite good indeed",
                          "8,Table of Contents,,")
    assert edited != text
    (folder / f"{GEMMA}.csv").write_bytes(edited.encode("utf-8"))
    db = tmp_path / "rbyf.duckdb"
    report = import_all(db, [folder])
    assert report.failed == [] and report.imported[0].plan.unrated == []
    toc = counted(db, "gemma-2-2b-it-q5_k_m")["Table of Contents"]
    # The log says "User rating: 5 it is quite good"; the CSV has no vote for it.
    assert (toc["score"], toc["remarks"]) == (5, "it is quite good")
    assert json.loads(toc["extra"])["legacy"]["rating_from"] == "log"
    assert ranking.leaderboard(Store(db))[0].total == 70


BROKEN = {
    "bad vote": (f"{QWEN}.csv", lambda t: t.replace("5,summarize,5,", "5,summarize,five,"),
                 6, "vote 'five' is not a score from 0 to 5"),
    "bad header": (f"{QWEN}.csv", lambda t: t.replace("#,TASK,VOTE,REMARKS", "#,TASK,VOTE"),
                   1, "expected the header #,TASK,VOTE,REMARKS"),
    "unquoted comma": (f"{QWEN}.csv", lambda t: t.replace(
        "8,Table of Contents,5,", "8,Table of Contents,5,fine, really"),
        9, "expected 4 fields"),
    "cut short": (f"{QWEN}_log.txt", lambda t: t[:t.index("Prompt Tokens: 343")],
                  461, "this answer has no figures after it"),
    "bad duration": (f"{QWEN}_log.txt", lambda t: t.replace(
        "Inference time:   0:00:02.830790", "Inference time:   soon"),
        49, "Inference time 'soon' is not a duration"),
    "stray text": (f"{QWEN}_log.txt", lambda t: t.replace(
        ">>>✅ NLP TAKS:    RAG\r\n\r\n", ">>>✅ NLP TAKS:    RAG\r\nnote to self\r\n"),
        250, "unexpected text between tasks: 'note to self'"),
    "not a log": (f"{QWEN}_log.txt", lambda t: "just some notes\r\n", None,
                  "not a log of the old scripts"),
    "not utf-8": (f"{QWEN}.csv", lambda t: t.replace("RAG,5", "RAG,\udcff5"), 10,
                  "not UTF-8 text (byte 0xff)"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_file_is_reported_with_line_and_reason_and_the_rest_imports(
        tmp_path: Path, case: str) -> None:
    name, damage, line, reason = BROKEN[case]
    folder = tmp_path / "old"
    folder.mkdir()
    for source in LEGACY.iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    target = folder / name
    text = target.read_bytes().decode("utf-8")
    target.write_bytes(damage(text).encode("utf-8", "surrogateescape"))
    report = import_all(tmp_path / "rbyf.duckdb", [folder])
    assert len(report.failed) == 1
    problem = report.failed[0]
    assert (problem.path.name, problem.line) == (name, line)
    assert reason in problem.reason
    partner = f"{QWEN}_log.txt" if name.endswith(".csv") else f"{QWEN}.csv"
    assert f"so {partner} was not imported either" in str(problem)
    assert str(problem).startswith(f"{name}:{line}: " if line else f"{name}: ")
    board = ranking.leaderboard(Store(tmp_path / "rbyf.duckdb"))
    assert {s.model: (s.n_rated, s.total) for s in board} == {
        k: v for k, v in EXPECTED.items() if not k.startswith("qwen")}


def test_missing_and_foreign_files_are_reported(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("x", encoding="utf-8")
    report = import_all(tmp_path / "rbyf.duckdb",
                        [tmp_path / "nope.csv", notes, LEGACY / f"{LLAMA3}.csv"])
    assert [str(p) for p in report.failed] == [
        f"{tmp_path / 'nope.csv'}: no such file or folder",
        "notes.md: not a .csv or .txt file of the old scripts"]
    assert [i.plan.model for i in report.imported] == ["Llama-3.2-3B-Instruct"]


def _variant(tmp_path: Path, edit: Any, name: str = "Variant_CPP_ABCDE_log.txt") -> Path:
    text = (LEGACY / f"{GEMMA}_log.txt").read_bytes().decode("utf-8")
    path = tmp_path / name
    path.write_bytes(edit(text).encode("utf-8"))
    return path


def test_a_task_the_catalog_lacks_is_kept_under_its_own_title(tmp_path: Path) -> None:
    path = _variant(tmp_path, lambda t: t.replace("NLP TAKS:    RAG\r\n",
                                                  "NLP TAKS:    Poetry: a haiku\r\n"))
    db = tmp_path / "rbyf.duckdb"
    report = import_all(db, [path])
    plan = report.imported[0].plan
    assert plan.outside == ["Poetry: a haiku"]
    got = counted(db, "gemma-2-2b-it-q5_k_m")
    poetry = got["Poetry: a haiku"]
    assert (poetry["task_key"], poetry["score"]) == ("legacy:poetry-a-haiku", 5)
    assert json.loads(poetry["extra"])["legacy"]["outside_catalog"] is True
    standing = ranking.leaderboard(Store(db))[0]
    assert (standing.n_rated, standing.total) == (13, 65)  # the catalog's tasks only


def test_log_variants_of_other_script_versions(tmp_path: Path) -> None:
    def edit(text: str) -> str:
        text = text.replace(  # a header with sampling lines, as later scripts wrote it
            "2024-10-14 08:48:24.742546\r\n\r\n",
            "2024-10-14 08:48:24.742546\r\n---\r\n").replace(
            "🧠🫡: You are a helpful assistant.\r\n",
            "🧠🫡: You are a helpful assistant.\r\ntemperature: 0.15\r\nrepeat penalty: 1.31\r\n"
            "max tokens: 1500\r\n---\r\n")
        text = text.replace(  # a task with its own sampling lines and code fences
            "---\r\nPrompt Tokens: 8\r\n", "---\r\n```    \r\nPrompt Tokens: 8\r\n").replace(
            ">>>✅ NLP TAKS:    explain in one sentence\r\n",
            ">>>✅ NLP TAKS:    explain in one sentence\r\n---\r\nTemperature: 0.3\r\n"
            "Repeat Penalty: 1.2\r\nMax new Tokens: 900\r\n```   \r\n")
        text = text.replace(  # TTFT written as a timedelta
            "Time to First Token: 0.995313 seconds", "Time to First Token: 0:00:00.995313")
        return text.replace("User rating: 5\r\n>>>✅ NLP TAKS:    RAG",  # never rated
                            "User rating: PUT IT LATER\r\n>>>✅ NLP TAKS:    RAG")

    db = tmp_path / "rbyf.duckdb"
    report = import_all(db, [_variant(tmp_path, edit)])
    assert report.failed == []
    plan = report.imported[0].plan
    assert plan.sampling == {"temperature": 0.15, "repeat_penalty": 1.31, "max_tokens": 1500}
    assert [t.title for t in plan.unrated] == ["RAG"]
    gens = {r["task_title"]: r for r in rows(db, "SELECT * FROM generations")}
    assert json.loads(gens["explain in one sentence"]["sampling"]) == {
        "temperature": 0.3, "repeat_penalty": 1.2, "max_tokens": 900}
    assert json.loads(gens["introduction"]["sampling"])["temperature"] == 0.15
    assert gens["explain in three paragraphs"]["ttft_s"] == pytest.approx(0.995313)
    assert gens["RAG"]["response"].startswith("China's ability for long-term planning")
    standing = ranking.leaderboard(Store(db))[0]
    assert (standing.n_rated, standing.total) == (13, 65)


def test_a_log_with_unix_newlines_and_plain_emoji(tmp_path: Path) -> None:
    """Logs written on Linux have "\n" endings; some renderings drop the emoji's joiner."""
    path = _variant(tmp_path, lambda t: t.replace("\r\n", "\n").replace("\u200d", ""))
    db = tmp_path / "rbyf.duckdb"
    assert import_all(db, [path]).failed == []
    toc = counted(db, "gemma-2-2b-it-q5_k_m")["Table of Contents"]
    assert toc["response"].endswith("lead global environmental efforts\n\n")
    assert (ranking.leaderboard(Store(db))[0].total) == 70


def test_rating_an_imported_answer_again_counts_and_the_session_stays_complete(
        tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    report = import_all(db, [LEGACY / f"{LLAMA1}_log.txt"])
    store = Store(db)
    session_id = report.imported[0].session_id
    state = store.task_states(session_id)["rag"]
    store.rate(state.id, 3, "on second thought")
    standing = ranking.leaderboard(store)[0]
    assert (standing.n_rated, standing.total) == (13, 47)
    assert store.sessions()[0].status == "complete"


@pytest.mark.parametrize(("text", "expected"), [
    ("5", (5, "")), ("1 - made up facts", (1, "- made up facts")),
    ("5 it is quite good", (5, "it is quite good")), ("PUT IT LATER", (None, "PUT IT LATER")),
    ("", (None, "")), ("10", (None, "10")), ("4-terse", (4, "-terse")),
])
def test_split_rating_as_the_scripts_did(text: str, expected: tuple[int | None, str]) -> None:
    assert legacy.split_rating(text) == expected


@pytest.mark.parametrize(("vote", "score"), [("5", 5), ("1 ", 1), (" 0", 0), ("4.0", 4),
                                             ("", None)])
def test_parse_vote(vote: str, score: int | None) -> None:
    assert legacy.parse_vote(vote) == score


@pytest.mark.parametrize("vote", ["6", "-1", "five", "4.5", "45"])
def test_parse_vote_refuses(vote: str) -> None:
    with pytest.raises(ValueError):
        legacy.parse_vote(vote)


@pytest.mark.parametrize(("stem", "model"), [
    ("Qwen2.5-1.5B-it_CPP_YWDAB", "Qwen2.5-1.5B-it"), ("LLAMA3.2-1Bit_CPP_62QL3", "LLAMA3.2-1Bit"),
    ("granite3-dense-2b_CHAT_OLLAMA_A1B2C", "granite3-dense-2b"),
    ("Qwen2.5-7B-Instruct_CPPSERV-SPECDECODE_ZZ9ZZ", "Qwen2.5-7B-Instruct"),
    ("my-model", "my-model")])
def test_model_from_file_name(stem: str, model: str) -> None:
    assert legacy.model_from_file_name(stem) == model
