"""Prompt catalogs: TOML files with defaults, a 0–5 rubric, a warm-up and ordered tasks."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rbyf_tui import checks as checking
from rbyf_tui import locations
from rbyf_tui.errors import CatalogError, NotFoundError

# Sampling settings a task may override; n_ctx is a load-time setting, so defaults only.
SAMPLING_TYPES: dict[str, type | tuple[type, ...]] = {
    "temperature": (int, float),
    "repeat_penalty": (int, float),
    "max_tokens": int,
    "top_p": (int, float),
    "top_k": int,
    "min_p": (int, float),
    "seed": int,
    "stop": (str, list),
    # Ask a template that can switch (e.g. Qwen3's enable_thinking) to think or not.
    "thinking": bool,
}
TOP_KEYS = {"name", "version", "description", "language", "system", "defaults", "rubric",
            "texts", "warmup", "tasks"}
TASK_KEYS = {"key", "title", "prompt", "system", "checks", *SAMPLING_TYPES}
DEFAULT_KEYS = {"n_ctx", *SAMPLING_TYPES}
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
REF_RE = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}")
SCORES = range(6)


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.8
    repeat_penalty: float = 1.0
    max_tokens: int = 1024
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    seed: int | None = None
    stop: tuple[str, ...] = ()
    thinking: bool | None = None  # None: the model's own default

    def merged(self, overrides: dict[str, Any]) -> Sampling:
        values = {k: v for k, v in overrides.items() if k in SAMPLING_TYPES}
        if isinstance(values.get("stop"), str):
            values["stop"] = (values["stop"],)
        elif "stop" in values:
            values["stop"] = tuple(values["stop"])
        for name in ("temperature", "repeat_penalty", "top_p", "min_p"):
            if name in values:
                values[name] = float(values[name])
        return replace(self, **values)

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "repeat_penalty": self.repeat_penalty,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "seed": self.seed,
            "stop": list(self.stop),
            # only when asked, so answers of catalogs without it store what they did
            **({"thinking": self.thinking} if self.thinking is not None else {}),
        }


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    prompt: str
    system: str | None
    sampling: Sampling
    is_warmup: bool = False
    # Automatic checks of the answer (checks.py): hints for the rater, never a score.
    checks: tuple[checking.Check, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Catalog:
    name: str
    version: str
    description: str
    n_ctx: int
    rubric: dict[int, str]
    tasks: tuple[Task, ...]
    warmup: Task | None = None
    source: str = ""  # path of the file, or "bundled:<name>"
    text: str = field(default="", repr=False)  # the TOML as read, kept in the DB for resume
    content_hash: str = ""

    def all_tasks(self) -> list[Task]:
        """Warm-up first, then the rated tasks in order."""
        return ([self.warmup] if self.warmup else []) + list(self.tasks)

    def task(self, key: str) -> Task:
        for task in self.all_tasks():
            if task.key == key:
                return task
        keys = ", ".join(t.key for t in self.all_tasks())
        raise NotFoundError(f"catalog {self.name} has no task '{key}': use one of {keys}")


# --- locating errors in the source text ------------------------------------------------


def _header_lines(text: str, header: str) -> list[int]:
    pattern = re.compile(r"^\s*" + re.escape(header) + r"\s*(#.*)?$")
    return [i + 1 for i, line in enumerate(text.splitlines()) if pattern.match(line)]


def _key_line(text: str, start: int, key: str) -> int | None:
    """First line at or after `start` (1-based) assigning `key`, before the next table."""
    pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
    lines = text.splitlines()
    for i in range(max(start - 1, 0), len(lines)):
        if i >= start and lines[i].lstrip().startswith("["):
            break
        if pattern.match(lines[i]):
            return i + 1
    return None


def _locate(text: str, table: str | None, index: int | None, key: str | None) -> int | None:
    start = 1
    if table == "tasks":
        headers = _header_lines(text, "[[tasks]]")
        if index is None or index >= len(headers):
            return None
        start = headers[index]
    elif table:
        headers = _header_lines(text, f"[{table}]")
        if not headers:
            return None
        start = headers[0]
    if key is None:
        return start
    return _key_line(text, start, key) or (start if table else None)


def _check_line(text: str, table: str, index: int | None, kind: str) -> int | None:
    """The line declaring check `kind` of a task (or the warm-up): inside an inline
    `checks = {...}`, a `[tasks.checks]` table or a `[tasks.checks.<kind>]` table; else the
    `checks` line; else the task's header."""
    start = _locate(text, table, index, None)
    if start is None:
        return None
    lines = text.splitlines()
    kind_re = re.compile(r"(^|[\s{,])[\"']?" + re.escape(kind) + r"[\"']?\s*=")
    sub_table = re.compile(r"^\s*\[\s*" + re.escape(table) + r"\.checks(\.(.+))?\s*\]")
    in_checks = False
    in_string = False  # inside a multi-line string, where "[text]" is no table header
    checks_line = None
    for i in range(start, len(lines)):
        line = lines[i]
        quotes = line.count('"""') + line.count("'''")
        if in_string or quotes % 2:
            in_string = in_string != bool(quotes % 2)
            continue
        if line.lstrip().startswith("["):
            header = sub_table.match(line)
            if not header:
                break  # the next task or table
            in_checks = True
            checks_line = checks_line or i + 1
            if header.group(2) and header.group(2).strip().strip("\"'") == kind:
                return i + 1
            continue
        if not in_checks and re.match(r"^\s*checks\s*=", line):
            checks_line = i + 1
            if kind and kind_re.search(line.split("=", 1)[1]):
                return i + 1
        elif in_checks and kind and kind_re.search(line):
            return i + 1
    return checks_line or start


class _Checker:
    def __init__(self, origin: str, text: str) -> None:
        self.origin = origin
        self.text = text

    def fail(self, what: str, *, table: str | None = None, index: int | None = None,
             key: str | None = None) -> CatalogError:
        line = _locate(self.text, table, index, key)
        return self.at(line, what)

    def fail_check(self, what: str, table: str, index: int | None, kind: str) -> CatalogError:
        return self.at(_check_line(self.text, table, index, kind), what)

    def at(self, line: int | None, what: str) -> CatalogError:
        where = f"{self.origin}:{line}" if line else self.origin
        return CatalogError(f"{where}: {what}")


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", list: "a list of strings",
             bool: "true or false"}
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if kinds == (int, float):
        return "a number"
    return " or ".join(names[k] for k in kinds)


def _check_sampling(chk: _Checker, values: dict[str, Any], where: str, allowed: set[str],
                    table: str, index: int | None = None) -> None:
    for name, value in values.items():
        if name not in allowed:
            continue
        expected = SAMPLING_TYPES.get(name, int)
        # a bool is an int to Python: refused where a number is meant
        if (isinstance(value, bool) and expected is not bool) \
                or not isinstance(value, expected):
            raise chk.fail(f"{where}.{name} must be {_type_name(expected)}, not {value!r}",
                           table=table, index=index, key=name)
        if name == "stop" and isinstance(value, list) and not all(
            isinstance(s, str) and s for s in value
        ):
            raise chk.fail(f"{where}.stop must be a list of non-empty strings",
                           table=table, index=index, key=name)
        bounds = {
            "temperature": (0, 5), "repeat_penalty": (0.01, 10), "max_tokens": (1, 1 << 20),
            "top_p": (0, 1), "min_p": (0, 1), "top_k": (0, 1 << 20), "n_ctx": (16, 1 << 24),
            "seed": (0, (1 << 32) - 1),
        }
        if name in bounds:
            low, high = bounds[name]
            if not low <= value <= high:
                raise chk.fail(f"{where}.{name} = {value} is out of range {low}..{high}",
                               table=table, index=index, key=name)


def _expand(chk: _Checker, value: str, texts: dict[str, str], where: str, table: str,
            index: int | None, key: str) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in texts:
            known = ", ".join(sorted(texts)) or "none defined"
            raise chk.fail(f"{where}.{key} refers to {{{{{name}}}}}, which [texts] does not "
                           f"define (defined: {known})", table=table, index=index, key=key)
        return texts[name]

    return REF_RE.sub(sub, value)


def _parse_task(chk: _Checker, raw: Any, where: str, table: str, index: int | None,
                defaults: Sampling, system: str | None, texts: dict[str, str],
                warmup: bool) -> Task:
    if not isinstance(raw, dict):
        raise chk.fail(f"{where} must be a table", table=table, index=index)
    unknown = sorted(set(raw) - TASK_KEYS)
    if unknown:
        raise chk.fail(f"{where}: unknown field '{unknown[0]}' (allowed: "
                       f"{', '.join(sorted(TASK_KEYS))})", table=table, index=index,
                       key=unknown[0])
    for name in ("key", "prompt"):
        if name not in raw:
            raise chk.fail(f"{where}: '{name}' is missing", table=table, index=index)
    for name in ("key", "title", "prompt", "system"):
        if name in raw and not isinstance(raw[name], str):
            raise chk.fail(f"{where}.{name} must be a string, not {raw[name]!r}",
                           table=table, index=index, key=name)
    key = raw["key"]
    if not KEY_RE.match(key):
        raise chk.fail(f"{where}.key '{key}' must be letters, digits, '-', '_' or '.'",
                       table=table, index=index, key="key")
    if not raw["prompt"].strip():
        raise chk.fail(f"{where} ('{key}'): 'prompt' is empty", table=table, index=index,
                       key="prompt")
    _check_sampling(chk, raw, f"{where} ('{key}')", set(SAMPLING_TYPES), table, index)
    prompt = _expand(chk, raw["prompt"], texts, where, table, index, "prompt")
    task_system = raw.get("system", system)
    if task_system is not None:
        task_system = _expand(chk, task_system, texts, where, table, index, "system") or None
    checks: tuple[checking.Check, ...] = ()
    if "checks" in raw:
        try:
            # Shared text works in checks too, e.g. a JSON schema the prompt also shows.
            checks = checking.parse(_expand_all(chk, raw["checks"], texts, where, table, index))
        except checking.CheckSpecError as exc:
            raise chk.fail_check(f"{where} ('{key}').checks: {exc}", table, index,
                                 exc.kind) from None
    return Task(
        key=key,
        title=raw.get("title") or key,
        prompt=prompt,
        system=task_system,
        sampling=defaults.merged(raw),
        is_warmup=warmup,
        checks=checks,
    )


def _expand_all(chk: _Checker, value: Any, texts: dict[str, str], where: str, table: str,
                index: int | None) -> Any:
    """{{name}} references expanded in every string of a checks table."""
    if isinstance(value, str):
        return _expand(chk, value, texts, where, table, index, "checks")
    if isinstance(value, list):
        return [_expand_all(chk, v, texts, where, table, index) for v in value]
    if isinstance(value, dict):
        return {k: _expand_all(chk, v, texts, where, table, index) for k, v in value.items()}
    return value


def parse(text: str, origin: str = "<catalog>") -> Catalog:
    """Parse and validate catalog TOML; errors name `origin:line` and what is wrong."""
    chk = _Checker(origin, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line.*\)$", "", str(exc))
        where = f"{origin}:{match.group(1)}" if match else origin
        raise CatalogError(f"{where}: invalid TOML: {message}") from None

    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise chk.fail(f"unknown top-level field '{unknown[0]}' (allowed: "
                       f"{', '.join(sorted(TOP_KEYS))})", key=unknown[0])
    for name in ("name", "version"):
        if name not in data:
            raise chk.fail(f"'{name}' is missing at the top of the catalog")
    for name in ("name", "version", "description", "language", "system"):
        if name in data and not isinstance(data[name], str):
            raise chk.fail(f"'{name}' must be a string, not {data[name]!r}", key=name)
    if not KEY_RE.match(data["name"]):
        raise chk.fail(f"name '{data['name']}' must be letters, digits, '-', '_' or '.'",
                       key="name")

    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        raise chk.fail("[defaults] must be a table", key="defaults")
    unknown = sorted(set(raw_defaults) - DEFAULT_KEYS)
    if unknown:
        raise chk.fail(f"defaults: unknown field '{unknown[0]}' (allowed: "
                       f"{', '.join(sorted(DEFAULT_KEYS))})", table="defaults", key=unknown[0])
    _check_sampling(chk, raw_defaults, "defaults", DEFAULT_KEYS, "defaults")
    n_ctx = raw_defaults.get("n_ctx", 4096)
    defaults = Sampling().merged(raw_defaults)

    texts = data.get("texts", {})
    if not isinstance(texts, dict):
        raise chk.fail("[texts] must be a table of named strings", key="texts")
    for name, value in texts.items():
        if not isinstance(value, str):
            raise chk.fail(f"texts.{name} must be a string", table="texts", key=name)

    rubric = _parse_rubric(chk, data.get("rubric"))
    system = data.get("system") or None
    if system:
        system = _expand(chk, system, texts, "catalog", "", None, "system")

    warmup = None
    if "warmup" in data:
        warmup = _parse_task(chk, data["warmup"], "warmup", "warmup", None, defaults, system,
                             texts, warmup=True)

    raw_tasks = data.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise chk.fail("no tasks: add at least one [[tasks]] table with key and prompt")
    tasks = []
    seen: dict[str, int] = {warmup.key: -1} if warmup else {}
    for i, raw in enumerate(raw_tasks):
        task = _parse_task(chk, raw, f"tasks[{i}]", "tasks", i, defaults, system, texts,
                           warmup=False)
        if task.key in seen:
            first = "the warm-up" if seen[task.key] < 0 else f"tasks[{seen[task.key]}]"
            raise chk.fail(f"tasks[{i}]: duplicate key '{task.key}' (also used by {first})",
                           table="tasks", index=i, key="key")
        seen[task.key] = i
        tasks.append(task)

    canonical = json.dumps(
        {"data": data, "n_ctx": n_ctx}, sort_keys=True, ensure_ascii=False, default=str
    )
    return Catalog(
        name=data["name"],
        version=data["version"],
        description=data.get("description", ""),
        n_ctx=n_ctx,
        rubric=rubric,
        tasks=tuple(tasks),
        warmup=warmup,
        source=origin,
        text=text,
        content_hash=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def _parse_rubric(chk: _Checker, raw: Any) -> dict[int, str]:
    if raw is None:
        raise chk.fail("[rubric] is missing: give one line for each score 0 to 5")
    if not isinstance(raw, dict):
        raise chk.fail("[rubric] must be a table with keys 0 to 5", key="rubric")
    rubric: dict[int, str] = {}
    for key, value in raw.items():
        if not key.isdigit() or int(key) not in SCORES:
            raise chk.fail(f"rubric: score '{key}' is not in 0–5: scores are whole numbers "
                           "0 to 5", table="rubric", key=key)
        if not isinstance(value, str) or not value.strip():
            raise chk.fail(f"rubric.{key} must be a non-empty string", table="rubric", key=key)
        rubric[int(key)] = value
    missing = [str(s) for s in SCORES if s not in rubric]
    if missing:
        raise chk.fail(f"rubric: scores {', '.join(missing)} have no line: the rubric covers "
                       "every score 0 to 5", table="rubric")
    return dict(sorted(rubric.items()))


# --- finding catalogs ------------------------------------------------------------------


def bundled_dir() -> Path:
    """Inside the wheel the catalogs sit in the package; in a checkout, at the top level."""
    here = Path(__file__).resolve().parent
    installed = here / "catalogs"
    return installed if installed.is_dir() else here.parent / "catalogs"


def load_file(path: Path) -> Catalog:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such catalog file: check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read the catalog ({exc})") from None
    return parse(text, str(path))


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    path: Path
    origin: str  # "bundled" or "user"
    catalog: Catalog | None
    error: str | None = None


def discover() -> list[CatalogEntry]:
    """Bundled then user catalogs; a user catalog with a bundled name shadows it."""
    entries: dict[str, CatalogEntry] = {}
    broken: list[CatalogEntry] = []
    for origin, folder in (("bundled", bundled_dir()), ("user", locations.user_catalog_dir())):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                catalog = load_file(path)
            except CatalogError as exc:
                broken.append(CatalogEntry(path.stem, path, origin, None, str(exc)))
                continue
            entries[catalog.name] = CatalogEntry(catalog.name, path, origin, catalog)
    return list(entries.values()) + broken


def resolve(name_or_path: str) -> Catalog:
    """A catalog by file path, or by name among user and bundled catalogs."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or path.exists() or "/" in name_or_path:
        return load_file(path)
    entries = discover()
    for entry in entries:
        if entry.catalog and entry.name == name_or_path:
            return entry.catalog
    for entry in entries:
        if entry.catalog is None and entry.name == name_or_path:
            raise CatalogError(entry.error or f"catalog {name_or_path} is broken")
    names = ", ".join(e.name for e in entries if e.catalog) or "none"
    raise NotFoundError(f"no catalog named '{name_or_path}': use one of {names}, or a path to "
                        "a .toml file")
