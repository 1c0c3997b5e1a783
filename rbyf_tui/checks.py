"""Automatic checks a catalog task declares: counting and format checks shown to the rater
next to the rating form as hints. They never change a score.

In a catalog a task (or the warm-up) declares them as a table, kind = target:

    [[tasks]]
    key = "sf-story"
    prompt = "... 800-1000 words."
    checks = { words = [800, 1000], paragraphs = { min = 5 } }

or, for longer ones, as a sub-table right after the task:

    [tasks.checks]
    json = { keys = ["name", "age"], schema = '{"type": "object"}' }
    not_contains = ["as an AI"]

Kinds (see textstats.py for how text is counted):
- `words`, `sentences`, `paragraphs`, `list_items`: a count; the target is a whole number
  (exactly), `[low, high]`, or `{ min = N }` / `{ max = N }` / both.
- `max_chars = N`: at most N characters.
- `contains = "text"` or a list: each must appear (case-insensitive, spaces normalised);
  `not_contains` likewise: none may appear.
- `json = true`, or `{ keys = [...], schema = ... }`: the answer (or its first fenced code
  block) parses as JSON; `keys` must be keys of the top-level object; `schema` is a small
  JSON-schema subset (type, properties, required, additionalProperties, items, minItems,
  maxItems, enum, minimum, maximum, minLength, maxLength), as a TOML table or a JSON string.
- `python_list = true`, or a count target for its items: the answer (or its first fenced
  code block) is a Python literal list (`ast.literal_eval`).
- `tags = ["thinking", "reflection"]`: each tag appears, and every one of them that is
  opened is closed, properly nested (tag names case-insensitive).
- `table = true`, or `{ rows = ..., columns = ... }` with count targets: the answer holds a
  Markdown table; the first one is measured.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from rbyf_tui import textstats


class CheckSpecError(ValueError):
    """A check declared wrongly in a catalog; `kind` says which one, for the file:line."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class CheckResult:
    """One check measured on one answer. `line` is the short human line, e.g.
    "words 741, target 800–1000"; `measured` is the number counted (or a short text)."""

    kind: str
    passed: bool
    measured: int | str | None
    target: str
    line: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(kind=str(data["kind"]), passed=bool(data["passed"]),
                   measured=data.get("measured"), target=str(data.get("target", "")),
                   line=str(data.get("line", "")))


def to_json(results: Sequence[CheckResult]) -> str:
    return json.dumps([r.as_dict() for r in results], ensure_ascii=False)


def from_json(value: str | list[dict[str, Any]] | None) -> list[CheckResult]:
    """Results as stored (a JSON string or the parsed list); none for NULL."""
    if value is None or value == "":
        return []
    data = json.loads(value) if isinstance(value, str) else value
    return [CheckResult.from_dict(item) for item in data]


def summary(results: Sequence[CheckResult]) -> str:
    """E.g. "2/3 checks passed"; empty without checks."""
    if not results:
        return ""
    return f"{sum(r.passed for r in results)}/{len(results)} checks passed"


@dataclass(frozen=True)
class Check:
    """A declared check: its kind, the target as written, and the parsed target."""

    kind: str
    value: Any = field(compare=False)
    spec: Any = field(compare=False, repr=False)

    def run(self, text: str) -> CheckResult:
        return KINDS[self.kind].measure(self.spec, text)


class Checked(Protocol):
    """What `run` needs of a catalog task (catalog.Task; catalog imports this module)."""

    @property
    def checks(self) -> Sequence[Check]: ...


def run(task: Checked, text: str) -> list[CheckResult]:
    """Every check the task declares, measured on the answer text, in declaration order."""
    return run_checks(task.checks, text)


def run_checks(checks: Iterable[Check], text: str) -> list[CheckResult]:
    return [check.run(text) for check in checks]


def parse(raw: Any) -> tuple[Check, ...]:
    """The checks of a catalog task from its TOML `checks` table (CheckSpecError if bad)."""
    if not isinstance(raw, dict):
        raise CheckSpecError("", "checks must be a table of kind = target, e.g. "
                             "checks = { words = [800, 1000] }")
    out = []
    for kind, value in raw.items():
        if kind not in KINDS:
            close = difflib.get_close_matches(kind, KINDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise CheckSpecError(kind, f"unknown check '{kind}'{hint}: known checks are "
                                 f"{', '.join(sorted(KINDS))}")
        try:
            spec = KINDS[kind].parse(kind, value)
        except CheckSpecError as exc:  # e.g. from table.rows: located by its check
            raise CheckSpecError(kind, str(exc)) from None
        out.append(Check(kind, value, spec))
    return tuple(out)


# --- count targets ----------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    low: int | None
    high: int | None

    def __contains__(self, value: int) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        if self.low == self.high:
            return str(self.low)
        if self.high is None:
            return f"≥ {self.low}"
        if self.low is None:
            return f"≤ {self.high}"
        return f"{self.low}–{self.high}"


def _count(kind: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CheckSpecError(kind, f"{name} must be a whole number 0 or more, not {value!r}")
    return value


def parse_range(kind: str, value: Any) -> Range:
    """A count target: N, [low, high], or { min = low, max = high } (either may be left out)."""
    usage = (f"{kind} takes a whole number, [low, high] or {{ min = N, max = N }}, "
             f"not {value!r}")
    if isinstance(value, int) and not isinstance(value, bool):
        count = _count(kind, kind, value)
        return Range(count, count)
    if isinstance(value, list):
        if len(value) != 2:
            raise CheckSpecError(kind, usage)
        low, high = (_count(kind, kind, v) for v in value)
    elif isinstance(value, dict):
        unknown = sorted(set(value) - {"min", "max"})
        if unknown or not value:
            raise CheckSpecError(kind, usage)
        low = _count(kind, f"{kind}.min", value["min"]) if "min" in value else None
        high = _count(kind, f"{kind}.max", value["max"]) if "max" in value else None
    else:
        raise CheckSpecError(kind, usage)
    if low is not None and high is not None and low > high:
        raise CheckSpecError(kind, f"{kind}: the low end {low} is above the high end {high}")
    return Range(low, high)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# --- the kinds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    parse: Callable[[str, Any], Any]
    measure: Callable[[Any, str], CheckResult]


def _counter(kind: str, label: str, count: Callable[[str], int]) -> Kind:
    def measure(spec: Range, text: str) -> CheckResult:
        n = count(text)
        return CheckResult(kind, n in spec, n, str(spec), f"{label} {n}, target {spec}")

    return Kind(parse_range, measure)


def _parse_max_chars(kind: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CheckSpecError(kind, f"{kind} must be a whole number 1 or more, not {value!r}")
    return value


def _measure_max_chars(limit: int, text: str) -> CheckResult:
    n = textstats.characters(text)
    return CheckResult("max_chars", n <= limit, n, f"≤ {limit}",
                       f"characters {n}, max {limit}")


def _parse_phrases(kind: str, value: Any) -> tuple[str, ...]:
    phrases = [value] if isinstance(value, str) else value
    if not isinstance(phrases, list) or not phrases or not all(
        isinstance(p, str) and p.strip() for p in phrases
    ):
        raise CheckSpecError(kind, f"{kind} takes a non-empty string or a list of them, "
                             f"not {value!r}")
    return tuple(phrases)


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).casefold()


def _quoted(phrases: Iterable[str]) -> str:
    return ", ".join(f'"{p}"' for p in phrases)


def _measure_contains(phrases: tuple[str, ...], text: str) -> CheckResult:
    folded = _fold(text)
    missing = [p for p in phrases if _fold(p).strip() not in folded]
    target = _quoted(phrases)
    if missing:
        return CheckResult("contains", False, f"missing {_quoted(missing)}", target,
                           f"missing {_quoted(missing)}")
    return CheckResult("contains", True, "all present", target, f"contains {target}")


def _measure_not_contains(phrases: tuple[str, ...], text: str) -> CheckResult:
    folded = _fold(text)
    found = [p for p in phrases if _fold(p).strip() in folded]
    target = _quoted(phrases)
    if found:
        return CheckResult("not_contains", False, f"has {_quoted(found)}", f"none of {target}",
                           f"contains {_quoted(found)} (it should not)")
    return CheckResult("not_contains", True, "none present", f"none of {target}",
                       f"free of {target}")


def _code_or_text(text: str) -> tuple[str, bool]:
    """The first fenced code block's content when the answer has one, else the answer."""
    for block in textstats.blocks(text):
        if block.kind == "code":
            return block.text, True
    return text.strip(), False


# JSON: a small JSON-schema subset, enough to say where an answer departs from a schema.
SCHEMA_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "minItems",
    "maxItems", "enum", "minimum", "maximum", "minLength", "maxLength", "title",
    "description",
}
SCHEMA_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


@dataclass(frozen=True)
class JsonSpec:
    keys: tuple[str, ...] = ()
    schema: dict[str, Any] | None = field(default=None, compare=False)


def _check_schema(kind: str, schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise CheckSpecError(kind, f"{where} must be a JSON-schema object, not {schema!r}")
    unknown = sorted(set(schema) - SCHEMA_KEYWORDS)
    if unknown:
        raise CheckSpecError(kind, f"{where}: unsupported schema keyword '{unknown[0]}' "
                             f"(supported: {', '.join(sorted(SCHEMA_KEYWORDS))})")
    types = schema.get("type")
    for name in [types] if isinstance(types, str) else types or []:
        if name not in SCHEMA_TYPES:
            raise CheckSpecError(kind, f"{where}.type '{name}' is not one of "
                                 f"{', '.join(sorted(SCHEMA_TYPES))}")
    for name, sub in (schema.get("properties") or {}).items():
        _check_schema(kind, sub, f"{where}.properties.{name}")
    if "items" in schema:
        _check_schema(kind, schema["items"], f"{where}.items")
    if "required" in schema and not (
        isinstance(schema["required"], list) and all(isinstance(k, str) for k in schema["required"])
    ):
        raise CheckSpecError(kind, f"{where}.required must be a list of property names")


def _parse_json(kind: str, value: Any) -> JsonSpec:
    if value is True:
        return JsonSpec()
    usage = (f"{kind} takes true or {{ keys = [...], schema = ... }}, not {value!r}")
    if not isinstance(value, dict) or not value or set(value) - {"keys", "schema"}:
        raise CheckSpecError(kind, usage)
    keys = value.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise CheckSpecError(kind, f"{kind}.keys must be a list of key names")
    schema = value.get("schema")
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise CheckSpecError(kind, f"{kind}.schema is not valid JSON ({exc})") from None
    if schema is not None:
        _check_schema(kind, schema, f"{kind}.schema")
    return JsonSpec(tuple(keys), schema)


def _type_ok(value: Any, name: str) -> bool:
    return {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }[name](value)


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Where `value` departs from `schema` (the subset above), as short lines."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(value, name) for name in names):
            return [f"{path} must be {' or '.join(names)}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path} must be one of {json.dumps(schema['enum'], ensure_ascii=False)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path} must be ≥ {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path} must be ≤ {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path} must have at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path} must have at most {schema['maxLength']} characters")
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key in schema.get("required") or []:
            if key not in value:
                errors.append(f"{path} lacks required key '{key}'")
        if schema.get("additionalProperties") is False:
            errors.extend(f"{path} has unexpected key '{key}'" for key in value
                          if key not in props)
        for key, sub in props.items():
            if key in value:
                errors.extend(schema_errors(value[key], sub, f"{path}.{key}"))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path} must have at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path} must have at most {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for n, item in enumerate(value):
                errors.extend(schema_errors(item, schema["items"], f"{path}[{n}]"))
    return errors


def _more(errors: list[str]) -> str:
    return errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")


def _measure_json(spec: JsonSpec, text: str) -> CheckResult:
    source, fenced = _code_or_text(text)
    target = "valid JSON" + (f" with keys {', '.join(spec.keys)}" if spec.keys else "") + (
        " following the schema" if spec.schema else "")
    where = " (in a code block)" if fenced else ""
    if not source.strip():
        return CheckResult("json", False, "empty", target, "JSON invalid: the answer is empty")
    try:
        value = json.loads(source)
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        return CheckResult("json", False, problem, target, f"JSON invalid{where}: {problem}")
    errors: list[str] = []
    if spec.keys:
        if not isinstance(value, dict):
            errors.append("$ must be an object")
        else:
            missing = [k for k in spec.keys if k not in value]
            if missing:
                errors.append(f"missing keys {', '.join(missing)}")
    if spec.schema and not errors:
        errors = schema_errors(value, spec.schema)
    if errors:
        return CheckResult("json", False, _more(errors), target, f"JSON{where}: {_more(errors)}")
    return CheckResult("json", True, "valid", target, f"JSON valid{where}"
                       + (", follows the schema" if spec.schema else ""))


def _parse_python_list(kind: str, value: Any) -> Range | None:
    if value is True:
        return None
    return parse_range(kind, value)


def _measure_python_list(spec: Range | None, text: str) -> CheckResult:
    source, fenced = _code_or_text(text)
    target = "a Python list" + (f" of {spec} items" if spec else "")
    where = " (in a code block)" if fenced else ""
    if not source.strip():
        return CheckResult("python_list", False, "empty", target,
                           "Python list invalid: the answer is empty")
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        problem = type(exc).__name__ + (f": {exc.msg}" if isinstance(exc, SyntaxError) and
                                        exc.msg else "")
        return CheckResult("python_list", False, problem, target,
                           f"Python list invalid{where}: {problem}")
    if not isinstance(value, list):
        kind = type(value).__name__
        return CheckResult("python_list", False, kind, target,
                           f"not a Python list{where}: a {kind}")
    n = len(value)
    line = f"Python list{where}, {_plural(n, 'item', 'items')}"
    if spec is None:
        return CheckResult("python_list", True, n, target, line)
    return CheckResult("python_list", n in spec, n, target, f"{line}, target {spec}")


TAG_NAME_RE = re.compile(r"^[A-Za-z][\w.-]*$")


def _parse_tags(kind: str, value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(
        isinstance(n, str) and TAG_NAME_RE.match(n) for n in names
    ):
        raise CheckSpecError(kind, f"{kind} takes tag names without brackets, e.g. "
                             f'["thinking", "output"], not {value!r}')
    return tuple(n.lower() for n in names)


def _measure_tags(names: tuple[str, ...], text: str) -> CheckResult:
    pattern = re.compile(r"<(/?)(" + "|".join(re.escape(n) for n in names)
                         + r")(?:\s[^<>]*)?(/?)>", re.IGNORECASE)
    stack: list[tuple[str, int]] = []
    opened = dict.fromkeys(names, 0)
    problems: list[str] = []
    for match in pattern.finditer(text):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if self_closing:
            continue
        line = text.count("\n", 0, match.start()) + 1
        if not closing:
            opened[name] += 1
            stack.append((name, line))
        elif stack and stack[-1][0] == name:
            stack.pop()
        elif any(open_name == name for open_name, _ in stack):
            inner, inner_line = stack[-1]
            problems.append(f"</{name}> at line {line} closes <{name}> while <{inner}> from "
                            f"line {inner_line} is open")
            while stack and stack[-1][0] != name:
                stack.pop()
            stack.pop()
        else:
            problems.append(f"</{name}> at line {line} closes nothing")
    problems.extend(f"<{name}> from line {line} never closed" for name, line in stack)
    problems = [f"<{n}> missing" for n in names if not opened[n]] + problems
    counts = ", ".join(f"{n} {opened[n]}" for n in names)
    target = "balanced " + ", ".join(f"<{n}>" for n in names)
    if problems:
        return CheckResult("tags", False, _more(problems), target, f"tags: {_more(problems)}")
    return CheckResult("tags", True, counts, target, f"tags balanced: {counts}")


@dataclass(frozen=True)
class TableSpec:
    rows: Range | None = None
    columns: Range | None = None


def _parse_table(kind: str, value: Any) -> TableSpec:
    if value is True:
        return TableSpec()
    if not isinstance(value, dict) or not value or set(value) - {"rows", "columns"}:
        raise CheckSpecError(kind, f"{kind} takes true or {{ rows = ..., columns = ... }}, "
                             f"not {value!r}")
    return TableSpec(
        parse_range(f"{kind}.rows", value["rows"]) if "rows" in value else None,
        parse_range(f"{kind}.columns", value["columns"]) if "columns" in value else None)


def _measure_table(spec: TableSpec, text: str) -> CheckResult:
    parts = [f"rows {spec.rows}"] if spec.rows else []
    parts += [f"columns {spec.columns}"] if spec.columns else []
    target = "a Markdown table" + (f" ({', '.join(parts)})" if parts else "")
    found = textstats.tables(text)
    if not found:
        return CheckResult("table", False, "none", target, "no Markdown table")
    first = found[0]
    passed = (spec.rows is None or first.rows in spec.rows) and (
        spec.columns is None or first.columns in spec.columns)
    measured = f"{first.rows} rows × {first.columns} columns"
    line = f"table {measured}" + (f", target {', '.join(parts)}" if parts else "")
    return CheckResult("table", passed, measured, target, line)


KINDS: dict[str, Kind] = {
    "words": _counter("words", "words", textstats.words),
    "sentences": _counter("sentences", "sentences", textstats.sentences),
    "paragraphs": _counter("paragraphs", "paragraphs", textstats.paragraphs),
    "list_items": _counter("list_items", "list items", textstats.list_items),
    "max_chars": Kind(_parse_max_chars, _measure_max_chars),
    "contains": Kind(_parse_phrases, _measure_contains),
    "not_contains": Kind(_parse_phrases, _measure_not_contains),
    "json": Kind(_parse_json, _measure_json),
    "python_list": Kind(_parse_python_list, _measure_python_list),
    "tags": Kind(_parse_tags, _measure_tags),
    "table": Kind(_parse_table, _measure_table),
}
