"""Import of the old rating scripts' results: their CSV (`#,TASK,VOTE,REMARKS`) and text log.

A CSV and a log of the same run (`X.csv` and `X_log.txt`) become one session: answers and
figures from the log, votes and remarks from the CSV (a task without a vote in the CSV keeps
the log's). A run is known by its model and its files, names and bytes (the scripts named
each run's files after the model and a random run id): importing the same files again
changes nothing, while two runs whose CSVs have the same bytes stay two sessions.

How the scripts' figures map to rbyf's (DESIGN.md, "Figures"), learned from the scripts:
they started a clock, streamed `create_chat_completion` with the user prompt alone, and
stopped at the first non-empty delta and at the end of the stream.

- "Time to First Token" is rbyf's `ttft_s` (same clock points); older logs lack it.
- "Inference time" is rbyf's `total_s`.
- "Prompt Tokens" / "Output Tokens" are tiktoken counts of the raw prompt and answer text
  (cl100k_base in some script versions, r50k_base in others; the log does not say which),
  not the model's own token counts: `prompt_tokens`, `completion_tokens` stay NULL, and so
  do `prompt_tps`, `decode_tps` and `e2e_tps`, which are defined on the model's counts. The
  seed's "Generation speed" (its output count / inference time) is thus not rbyf's
  `e2e_tps`. rbyf computes `prompt_tiktoken` and `completion_tiktoken` itself from the
  texts (cl100k_base, as for its own runs); the seed's figures are kept verbatim in
  `extra.legacy.seed_figures`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rbyf_tui.catalog import Catalog
from rbyf_tui.errors import RbyfError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from rbyf_tui.store import ImportedGeneration, Store

CSV_HEADER = ["#", "TASK", "VOTE", "REMARKS"]
CATALOG = "rbyf-v2"
OUTSIDE_PREFIX = "legacy:"  # ':' never occurs in catalog keys (catalog.KEY_RE)

PROMPT_RE = re.compile(r"^👨\u200d?💻 ?([>.])(?: |$)(.*)$")
ANSWER_RE = re.compile(r"^💻 ?>(?: |$)(.*)$")
STAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?$")
MODEL_RE = re.compile(r"^Your own LocalGPT with\s+(?:[^\w\s]+\s+)?(.+?)\s*$")
COUNT_RE = re.compile(r"^(Prompt|Output|TOTAL) Tokens:\s*(\d+)\s*$")
FIGURE_RE = re.compile(
    r"^(?:>>>)?\W*(Time to First Token|Inference time|Inference speed|Generation speed|"
    r"Logfile|User rating|NLP TAKS|NLP TASK):[ \t]?(.*)$")
SAMPLING_RE = re.compile(
    r"^(temperature|repeat penalty|max tokens|max new tokens):\s*([0-9.]+)\s*$", re.I)
DURATION_RE = re.compile(r"^(?:(\d+) days?, )?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")
SECONDS_RE = re.compile(r"^(\d+(?:\.\d+)?)(?: ?s| seconds?)?$")
SPEED_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*t/s$")
RUN_SUFFIX_RE = re.compile(r"(?:_[A-Z][A-Z0-9-]*)*_[A-Z0-9]{5}$")
SAMPLING_KEYS = {"temperature": "temperature", "repeat penalty": "repeat_penalty",
                 "max tokens": "max_tokens", "max new tokens": "max_tokens"}


class LegacyFormatError(RbyfError):
    """A file of the old scripts that cannot be read: names the file, the line, the reason."""

    def __init__(self, path: Path, line: int | None, reason: str, *,
                 full_path: bool = False) -> None:
        self.path, self.line, self.reason = path, line, reason
        name = str(path) if full_path else path.name
        super().__init__(f"{name}:{line}: {reason}" if line else f"{name}: {reason}")


# --- the two file formats --------------------------------------------------------------


@dataclass
class CsvRow:
    line: int
    title: str
    score: int | None  # None: left without a vote
    remarks: str


@dataclass
class LogTask:
    line: int  # where its prompt starts
    title: str
    warmup_marker: bool  # the scripts wrote the warm-up's prompt as "👨‍💻 . ..."
    prompt: str
    response: str
    ttft_s: float | None = None
    total_s: float | None = None
    seed_figures: dict[str, Any] = field(default_factory=dict)
    rating_text: str | None = None
    sampling: dict[str, float] = field(default_factory=dict)


@dataclass
class LegacyLog:
    path: Path
    started: datetime | None  # naive local time, as the script wrote it
    started_text: str | None
    model: str | None
    sampling: dict[str, float]
    tasks: list[LogTask]


def _text(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise LegacyFormatError(
            path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x})") from None
    # The scripts ran on Windows: text-mode files turned every "\n" into "\r\n".
    return text.replace("\r\n", "\n")


def parse_vote(text: str) -> int | None:
    """A CSV vote: '5', '1 ' (the scripts kept rating[:2]), '5.0'; '' is no vote."""
    vote = text.strip()
    if not vote:
        return None
    if re.fullmatch(r"[0-5](?:\.0+)?", vote):
        return int(vote[0])
    raise ValueError(vote)


def split_rating(text: str) -> tuple[int | None, str]:
    """A log's "User rating:" text, split as the scripts split it for their CSV: the vote
    is its first character, the remarks what follows the separating space."""
    if not text or text[0] not in "012345" or (len(text) > 1 and text[1] in "0123456789."):
        return None, text  # e.g. 'PUT IT LATER': generated, never rated
    return int(text[0]), text[2:] if len(text) > 1 and text[1].isspace() else text[1:]


def parse_csv(path: Path, data: bytes | None = None) -> list[CsvRow]:
    text = _text(path, path.read_bytes() if data is None else data)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[CsvRow] = []
    line = 1
    try:
        header = next(reader, None)
        if header is None:
            raise LegacyFormatError(path, 1, "empty file: expected the header #,TASK,VOTE,REMARKS")
        if [h.strip().upper() for h in header] != CSV_HEADER:
            raise LegacyFormatError(
                path, 1, f"expected the header #,TASK,VOTE,REMARKS, found {','.join(header)!r}")
        line = reader.line_num + 1
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) not in (3, 4):
                raise LegacyFormatError(
                    path, start, f"expected 4 fields (#,TASK,VOTE,REMARKS), found {len(record)}:"
                    " remarks with commas must be quoted")
            title = record[1].strip()
            if not title:
                raise LegacyFormatError(path, start, "no task title in the TASK column")
            try:
                score = parse_vote(record[2])
            except ValueError:
                raise LegacyFormatError(
                    path, start, f"vote {record[2]!r} is not a score from 0 to 5") from None
            rows.append(CsvRow(start, title, score, record[3] if len(record) == 4 else ""))
    except csv.Error as exc:
        raise LegacyFormatError(path, reader.line_num or line, f"broken CSV: {exc}") from None
    if not rows:
        raise LegacyFormatError(path, line, "no tasks after the header")
    return rows


def _seconds(path: Path, number: int, label: str, value: str) -> float:
    value = value.strip()
    if match := DURATION_RE.match(value):
        days, hours, minutes, seconds = match.groups()
        return (int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60
                + float(seconds))
    if match := SECONDS_RE.match(value):
        return float(match.group(1))
    raise LegacyFormatError(path, number, f"{label} {value!r} is not a duration")


def parse_log(path: Path, data: bytes | None = None) -> LegacyLog:
    lines = _text(path, path.read_bytes() if data is None else data).split("\n")
    log = LegacyLog(path, None, None, None, {}, [])
    i = 0
    # Header: time stamp, "Your own LocalGPT with 💻 <model>", maybe sampling lines.
    while i < len(lines) and not PROMPT_RE.match(lines[i]):
        text = lines[i].strip()
        if STAMP_RE.match(text) and log.started is None:
            log.started, log.started_text = datetime.fromisoformat(text), text
        elif (match := MODEL_RE.match(text)) and log.model is None:
            log.model = match.group(1)
        elif match := SAMPLING_RE.match(text):
            log.sampling[SAMPLING_KEYS[match.group(1).lower()]] = float(match.group(2))
        i += 1
    if i == len(lines):
        raise LegacyFormatError(
            path, None, "no task in it (no line starting '👨‍💻 >'): not a log of the old scripts")
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        if not PROMPT_RE.match(lines[i]):
            raise LegacyFormatError(path, i + 1,
                                    f"unexpected text between tasks: {lines[i][:60]!r}")
        task, i = _parse_block(path, lines, i)
        log.tasks.append(task)
    return log


def _parse_block(path: Path, lines: list[str], start: int) -> tuple[LogTask, int]:
    marker = PROMPT_RE.match(lines[start])
    assert marker is not None
    i = start + 1
    while i < len(lines) and not ANSWER_RE.match(lines[i]):
        i += 1
    if i == len(lines):
        raise LegacyFormatError(path, start + 1,
                                "this prompt has no answer after it (no line starting '💻 >')")
    prompt = "\n".join([marker.group(2), *lines[start + 1:i]])
    answer_start = i
    first = ANSWER_RE.match(lines[i])
    assert first is not None
    # The answer runs to a "---" line followed by "Prompt Tokens:" (maybe a ``` between).
    i += 1
    while i < len(lines):
        if lines[i].strip() == "---":
            after = i + 1
            if after < len(lines) and lines[after].strip().startswith("```"):
                after += 1
            if after < len(lines) and lines[after].startswith("Prompt Tokens:"):
                break
        i += 1
    if i == len(lines):
        raise LegacyFormatError(
            path, answer_start + 1,
            "this answer has no figures after it ('---' then 'Prompt Tokens:'): is the log "
            "cut short?")
    response = "\n".join([first.group(1), *lines[answer_start + 1:i]])
    task = LogTask(start + 1, "", marker.group(1) == ".", prompt, response)
    i += 1
    title = None
    while i < len(lines) and title is None:
        text = lines[i].strip()
        number = i + 1
        i += 1
        if not text or text.startswith("```"):
            continue
        if match := COUNT_RE.match(text):
            task.seed_figures[f"{match.group(1).lower()}_tokens"] = int(match.group(2))
        elif match := FIGURE_RE.match(lines[i - 1].rstrip()):
            label, value = match.groups()
            if label == "Time to First Token":
                task.ttft_s = _seconds(path, number, label, value)
            elif label == "Inference time":
                task.total_s = _seconds(path, number, label, value)
            elif label in ("Inference speed", "Generation speed"):
                speed = SPEED_RE.match(value.strip())
                if not speed:
                    raise LegacyFormatError(path, number, f"{label} {value!r} is not a speed")
                key = label.lower().replace(" ", "_") + "_tps"
                task.seed_figures[key] = float(speed.group(1))
            elif label == "Logfile":
                task.seed_figures["logfile"] = value.strip()
            elif label == "User rating":
                task.rating_text = value
            else:
                title = value.strip()
                if not title:
                    raise LegacyFormatError(path, number, "the 'NLP TAKS:' line names no task")
        else:
            raise LegacyFormatError(path, number,
                                    f"unexpected line among the figures: {text[:60]!r}")
    if title is None:
        raise LegacyFormatError(path, answer_start + 1,
                                "these figures never name their task (no 'NLP TAKS:' line)")
    task.title = title
    # Some script versions wrote the sampling settings under each task.
    while i < len(lines):
        text = lines[i].strip()
        if text in ("---",) or text.startswith("```"):
            i += 1
        elif match := SAMPLING_RE.match(text):
            task.sampling[SAMPLING_KEYS[match.group(1).lower()]] = float(match.group(2))
            i += 1
        else:
            break
    return task, i


# --- from files to sessions ------------------------------------------------------------


@dataclass
class Run:
    """The files of one run of the old scripts: a CSV, a log, or both."""

    stem: str
    csv: Path | None = None
    log: Path | None = None

    @property
    def files(self) -> list[Path]:
        return [p for p in (self.csv, self.log) if p is not None]

    @property
    def label(self) -> str:
        return " + ".join(p.name for p in self.files)


def group_runs(paths: Iterable[Path]) -> list[Run | LegacyFormatError]:
    """Pair X.csv with X_log.txt (same folder); folders give their .csv and _log.txt files.
    Runs, and files that are no use, in the order they were given."""
    runs: dict[tuple[Path, str], Run] = {}
    found: list[Run | LegacyFormatError] = []
    seen: set[Path] = set()
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():  # the scripts' own names: X.csv and X_log.txt
            expanded += sorted(p for p in path.iterdir() if p.is_file() and (
                p.name.lower().endswith((".csv", "_log.txt"))))
        else:
            expanded.append(path)
    for path in expanded:
        resolved = path.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        if not path.is_file():
            found.append(LegacyFormatError(path, None, "no such file or folder",
                                           full_path=True))
            continue
        name = path.name
        if name.lower().endswith(".csv"):
            stem, role = name[:-4], "csv"
        elif name.lower().endswith(".txt"):
            stem = name[:-8] if name.lower().endswith("_log.txt") else name[:-4]
            role = "log"
        else:
            found.append(LegacyFormatError(
                path, None, "not a .csv or .txt file of the old scripts"))
            continue
        run = runs.get((resolved.parent, stem))
        if run is None:
            run = runs[(resolved.parent, stem)] = Run(stem)
            found.append(run)
        if getattr(run, role) is not None:
            found.append(LegacyFormatError(
                path, None, f"a second {role} for run {stem} ({getattr(run, role).name})"))
            continue
        setattr(run, role, path)
    return found


def model_from_file_name(stem: str) -> str:
    """'Qwen2.5-1.5B-it_CPP_YWDAB' -> 'Qwen2.5-1.5B-it' (drops the scripts' run suffix)."""
    return RUN_SUFFIX_RE.sub("", stem) or stem


def _norm(title: str) -> str:
    return " ".join(title.split()).casefold()


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-") or "task"


@dataclass
class Planned:
    """One task of a run, ready for the store."""

    key: str
    title: str
    is_warmup: bool
    in_catalog: bool
    line: int
    source: Path
    prompt: str = ""
    response: str = ""
    has_answer: bool = False
    ttft_s: float | None = None
    total_s: float | None = None
    seed_figures: dict[str, Any] = field(default_factory=dict)
    sampling: dict[str, float] = field(default_factory=dict)
    score: int | None = None
    remarks: str = ""
    rating_from: str | None = None


@dataclass
class Plan:
    run: Run
    model: str
    model_from: str
    started: datetime  # UTC
    started_text: str | None
    zone: tuple[str, str] | None  # the log's time stamp was read in: (zone, UTC offset)
    sampling: dict[str, float]
    tasks: list[Planned]
    source_hash: str  # of the files' bytes; with the model and file names, the run's key
    file_hashes: list[dict[str, str]]

    @property
    def outside(self) -> list[str]:
        return list(dict.fromkeys(t.title for t in self.tasks if not t.in_catalog))

    @property
    def rated(self) -> list[Planned]:
        """The catalog's tasks rated in this run (a task's last rating, if it had two)."""
        return list({t.key: t for t in self.tasks if t.score is not None and not t.is_warmup
                     and t.in_catalog}.values())

    @property
    def unrated(self) -> list[Planned]:
        return [t for t in self.tasks if t.score is None and not t.is_warmup]

    def missing(self, catalog: Catalog) -> list[str]:
        """Titles of the catalog's tasks this run never had."""
        keys = {t.key for t in self.tasks}
        return [t.title for t in catalog.tasks if t.key not in keys]


class _Keys:
    """Catalog keys by title; tasks the catalog lacks get a key of their own."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.by_title = {_norm(t.title): t for t in catalog.tasks}
        self.outside: dict[str, str] = {}

    def resolve(self, title: str, warmup_marker: bool) -> tuple[str, str, bool, bool]:
        """(key, title, is_warmup, in_catalog) of a task the old scripts named `title`."""
        warm = self.catalog.warmup
        if warm and (_norm(title) == _norm(warm.title)
                     or (warmup_marker and _norm(title) not in self.by_title)):
            return warm.key, warm.title, True, True
        task = self.by_title.get(_norm(title))
        if task:
            return task.key, task.title, False, True
        if _norm(title) not in self.outside:
            key, n = OUTSIDE_PREFIX + _slug(title), 2
            while key in self.outside.values():
                key, n = f"{OUTSIDE_PREFIX}{_slug(title)}-{n}", n + 1
            self.outside[_norm(title)] = key
        return self.outside[_norm(title)], title.strip(), False, False


def local_zone_name() -> str:
    """This machine's zone, by its IANA name where it can be found."""
    if name := os.environ.get("TZ", "").lstrip(":"):
        return name
    link = os.path.realpath("/etc/localtime")
    if "zoneinfo/" in link:
        return link.split("zoneinfo/", 1)[1]
    return datetime.now().astimezone().tzname() or "local"


def plan_run(run: Run, catalog: Catalog, model: str | None = None,
             tz: ZoneInfo | None = None) -> Plan:
    """Read a run's files and line up its tasks with the catalog (raises LegacyFormatError).

    The log's time stamp has no zone: it is the local time of the machine that wrote it,
    read in `tz`, else in this machine's zone."""
    datas = {p: p.read_bytes() for p in run.files}
    rows = parse_csv(run.csv, datas[run.csv]) if run.csv else []
    log = parse_log(run.log, datas[run.log]) if run.log else None
    keys = _Keys(catalog)
    tasks: list[Planned] = []
    by_title: dict[str, list[Planned]] = {}
    for item in log.tasks if log else []:
        key, title, warm, inside = keys.resolve(item.title, item.warmup_marker)
        score, remarks = split_rating(item.rating_text or "")
        planned = Planned(key, title, warm, inside, item.line, log.path, item.prompt,
                          item.response, True, item.ttft_s, item.total_s, item.seed_figures,
                          item.sampling or dict(log.sampling))
        if score is not None:
            planned.score, planned.remarks, planned.rating_from = score, remarks, "log"
        tasks.append(planned)
        by_title.setdefault(key, []).append(planned)
    used: dict[str, int] = {}
    for row in rows:
        key, title, warm, inside = keys.resolve(row.title, False)
        matches = by_title.get(key, [])
        index = used.get(key, 0)
        used[key] = index + 1
        if index < len(matches):
            target = matches[index]  # votes and remarks from the CSV, answer from the log
        else:
            target = Planned(key, title, warm, inside, row.line, run.csv or Path())
            tasks.append(target)
        if row.score is not None:  # no vote in the CSV: the log's rating (if any) stands
            target.score, target.remarks, target.rating_from = row.score, row.remarks, "csv"
    if model:
        name, source = model, "--model"
    elif log and log.model:
        name, source = log.model.removesuffix(".gguf"), "log header"
    else:
        name, source = model_from_file_name(run.stem), "file name"
    zone = None
    if log and log.started:
        local = log.started.replace(tzinfo=tz) if tz else log.started.astimezone()
        started = local.astimezone(UTC).replace(tzinfo=None)
        zone = (tz.key if tz else local_zone_name(), f"{local:%z}")
    else:  # the scripts wrote the CSV when the run ended
        started = datetime.fromtimestamp(run.files[0].stat().st_mtime, UTC).replace(
            tzinfo=None)
    hashes = [{"name": p.name, "sha256": hashlib.sha256(datas[p]).hexdigest()}
              for p in run.files]
    digest = hashlib.sha256("\n".join(sorted(h["sha256"] for h in hashes)).encode())
    return Plan(run, name, source, started, log.started_text if log else None, zone,
                dict(log.sampling) if log else {}, tasks, digest.hexdigest(), hashes)


def generations(plan: Plan) -> list[ImportedGeneration]:
    """The plan as store rows: figures mapped as the module docstring says."""
    from rbyf_tui.metrics import Figures, tiktoken_count
    from rbyf_tui.store import ImportedGeneration

    out = []
    clock = plan.started
    attempts: dict[str, int] = {}
    for n, task in enumerate(plan.tasks):
        attempts[task.key] = attempts.get(task.key, 0) + 1
        # The log has one time stamp; each answer started no earlier than the previous one
        # ended (the microseconds keep CSV-only tasks in their order).
        started = clock + timedelta(microseconds=n)
        finished = started + timedelta(seconds=task.total_s or 0)
        clock = finished
        figures = Figures(
            ttft_s=task.ttft_s, total_s=task.total_s,
            prompt_tiktoken=tiktoken_count(task.prompt) if task.has_answer else None,
            completion_tiktoken=tiktoken_count(task.response) if task.has_answer else None)
        legacy: dict[str, Any] = {"source": task.source.name, "line": task.line}
        if task.has_answer:
            legacy["seed_figures"] = task.seed_figures
        else:
            legacy["answer"] = "not kept: the run's CSV holds votes and remarks only"
        if task.rating_from:
            legacy["rating_from"] = task.rating_from
        if not task.in_catalog:
            legacy["outside_catalog"] = True
        out.append(ImportedGeneration(
            key=task.key, title=task.title, is_warmup=task.is_warmup,
            attempt=attempts[task.key], prompt=task.prompt, response=task.response,
            sampling=task.sampling or None, figures=figures, extra={"legacy": legacy},
            started_at=started, finished_at=finished, score=task.score, remarks=task.remarks))
    return out


# --- the import as a whole -------------------------------------------------------------


@dataclass
class Imported:
    plan: Plan
    session_id: str
    created: bool  # False: these files were imported before


@dataclass
class ImportReport:
    imported: list[Imported] = field(default_factory=list)
    failed: list[LegacyFormatError] = field(default_factory=list)


def import_paths(store: Store, paths: Sequence[Path], *, model: str | None = None,
                 rater: str | None = None, catalog: Catalog | None = None,
                 tz: ZoneInfo | None = None) -> ImportReport:
    """Import every run among `paths`; a file that cannot be read is reported, the other
    runs still import. A run whose CSV or log fails is skipped whole, so that importing it
    again once fixed gives one session, not two."""
    from rbyf_tui import catalog as catalogs
    from rbyf_tui.backends.base import ModelInfo
    from rbyf_tui.store import ImportedSession

    catalog = catalog or catalogs.resolve(CATALOG)
    report = ImportReport()
    for run in group_runs(paths):
        if isinstance(run, LegacyFormatError):
            report.failed.append(run)
            continue
        try:
            plan = plan_run(run, catalog, model, tz)
        except LegacyFormatError as exc:
            partner = [p.name for p in run.files if p != exc.path]
            if partner:
                exc = LegacyFormatError(exc.path, exc.line,
                                        f"{exc.reason} (so {partner[0]} was not imported either)")
            report.failed.append(exc)
            continue
        except OSError as exc:
            report.failed.append(LegacyFormatError(run.files[0], None,
                                                   f"cannot be read: {exc.strerror}"))
            continue
        session = ImportedSession(
            model=ModelInfo(key=f"legacy:{plan.model}", name=plan.model, backend="legacy",
                            extra={"imported_from": run.label}),
            catalog=catalog, source_hash=plan.source_hash,
            settings={"import": {"sha256": plan.source_hash, "files": plan.file_hashes,
                                 "model_from": plan.model_from,
                                 "log_started_local": plan.started_text,
                                 "log_zone": plan.zone and plan.zone[0],
                                 "log_utc_offset": plan.zone and plan.zone[1],
                                 "sampling": plan.sampling or None}},
            note=f"imported from {run.label}", rater=rater, created_at=plan.started,
            generations=generations(plan))
        session_id, created = store.import_session(session)
        report.imported.append(Imported(plan, session_id, created))
    return report
