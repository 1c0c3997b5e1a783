"""Automatic checks: the counting rules on crafted answers, every check kind with its edge
cases, results as JSON, and catalogs declaring checks (bad ones fail with file:line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rbyf_tui import catalog as catalogs
from rbyf_tui import checks, textstats
from rbyf_tui.checks import CheckResult
from rbyf_tui.errors import CatalogError

from conftest import assert_one_line_error, run_cli
from helpers import MINI


def run_one(spec: dict[str, object], text: str) -> CheckResult:
    (result,) = checks.run_checks(checks.parse(spec), text)
    return result


# --- counting ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("", 0),
    ("   \n\t\n", 0),
    ("Hello, world! Don't stop: long-term growth of 3.14 % — ok", 9),
    ("人工智能是科学。", 7),  # each Chinese character is a word (字)
    ("我用Python写代码", 6),
    ("これはペンです。", 7),
    ("안녕하세요 세계", 2),  # Korean has spaces: counted like English
    ("**Bold** [link text](https://example.com/a-b-c) `code` _it_", 5),
    ("<thinking>one two</thinking>", 2),
    ("# Heading words\n\n> quoted words", 4),
    ("Intro words here\n```python\nx = 1\nprint(x)", 7),  # unclosed fence: the code counts
    ("| a | b |\n|---|---|\n| one | two |", 4),
])
def test_words(text: str, expected: int) -> None:
    assert textstats.words(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", 0),
    ("...", 0),
    ("Science is the systematic study of nature.", 1),
    ("Science is the study of nature", 1),  # no final mark: still a sentence
    ("One. Two.   \n\n  \n", 2),  # trailing whitespace and blank lines
    ("It grew 3.5% in 2023, e.g. in the U.S. and Dr. Smith agrees.", 1),
    ("Is it? Yes! Sure… Fine.", 4),
    ('He said "stop." Then he left.', 2),
    ("第一句。第二句！第三句？", 3),
    ("你好!我很好", 2),
    ("# A title\n\nOne sentence here.", 1),  # headings are no sentences
    ("Intro:\n- a point.\n- b point\n1. c", 4),  # each list item ends one
    ("Run this.\n```\nprint('a. b. c.')\n```", 1),  # code holds none
    ("Run this.\n```\nx. y. z.", 1),  # nor does an unclosed code block
    ("A soft\nwrapped line. Next one.", 2),
])
def test_sentences(text: str, expected: int) -> None:
    assert textstats.sentences(text) == expected, textstats.sentence_list(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("", 0),
    ("\n\n\n", 0),
    ("One.\n\nTwo.\n\nThree.", 3),
    ("One.  \n   \nTwo.\n\n\n\nThree.\n\n", 3),  # lines of spaces are blank lines
    ("Line one.\nLine two.\nLine three.", 3),  # no blank line at all: one per line
    ("One long paragraph that is\nsoft wrapped.\n\nSecond.", 2),
    ("# Title\n\nFirst.\n\n## Part\n\nSecond.\n\n---", 2),  # headings and rules title
    ("First.\n\n```\na\n\nb\n```\n\nThird.", 3),  # a code block is one paragraph
    ("<thinking>\n\nplan\n\n</thinking>", 1),  # a tag alone on its lines is markup
    ("段落一。\n\n段落二。", 2),
])
def test_paragraphs(text: str, expected: int) -> None:
    assert textstats.paragraphs(text) == expected, textstats.paragraph_list(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("", 0),
    ("- one\n* two\n+ three\n• four", 4),
    ("1. one\n2) two\n**3.** three\n**4. four**", 4),
    ("1、经济\n2、能源\n（3）规划\n四、总结", 4),
    ("Topics:\n\n1. Economy\n   - detail\n   - detail\n2. Energy\n  * sub\n3. Planning", 3),
    ("*emphasis* is no item\n-5 degrees is none\n1.5 million neither", 0),
    ("```\n- not\n- items\n```\n- item", 1),
    ("-\n- \n- real", 1),  # a bare marker is no item
])
def test_list_items(text: str, expected: int) -> None:
    assert textstats.list_items(text) == expected, textstats.list_item_list(text)


def test_tables_and_characters() -> None:
    text = "Intro\n\n| A | B | C |\n|:--|--:|---|\n| 1 | 2 | 3 |\n| 4 | 5 | 6 |\n\nEnd"
    assert textstats.tables(text) == [textstats.Table(columns=3, rows=2)]
    assert textstats.tables("```\n| A |\n|---|\n| 1 |\n```") == []
    assert textstats.characters("  héllo 世界 \n\n") == 8


# --- check kinds ------------------------------------------------------------------------


def test_count_checks_and_their_lines() -> None:
    story = " ".join(["word"] * 741)
    result = run_one({"words": [800, 1000]}, story)
    assert result == CheckResult("words", False, 741, "800–1000", "words 741, target 800–1000")
    assert run_one({"words": {"min": 700}}, story).line == "words 741, target ≥ 700"
    assert run_one({"words": {"max": 100}}, "生鱼片是死鱼片吗").line == "words 8, target ≤ 100"
    assert run_one({"sentences": 1}, "One. Two.").line == "sentences 2, target 1"
    assert run_one({"paragraphs": 3}, "a\n\nb\n\nc").passed
    assert run_one({"list_items": 5}, "\n".join(f"{n}. t" for n in range(1, 6))).line == (
        "list items 5, target 5")
    empty = run_one({"sentences": 1}, "")
    assert (empty.passed, empty.measured) == (False, 0)


def test_contains_and_not_contains_ignore_case_and_spacing() -> None:
    assert run_one({"contains": "unanswerable"}, "UNANSWERABLE.").line == 'contains "unanswerable"'
    assert run_one({"contains": "I am ready"}, "ok, i am\n ready").passed
    missing = run_one({"contains": ["East", "West"]}, "east grew")
    assert not missing.passed and missing.line == 'missing "West"'
    assert run_one({"contains": "我准备好了"}, "我准备好了。").passed
    assert not run_one({"contains": "x"}, "").passed
    clean = run_one({"not_contains": "unanswerable"}, "China peaked in 2023.")
    assert clean.passed and clean.line == 'free of "unanswerable"'
    found = run_one({"not_contains": ["as an AI", "unanswerable"]}, "Unanswerable")
    assert not found.passed and found.line == 'contains "unanswerable" (it should not)'
    assert run_one({"not_contains": "x"}, "").passed


def test_max_chars_ignores_surrounding_whitespace() -> None:
    assert run_one({"max_chars": 5}, "  hello \n\n").line == "characters 5, max 5"
    over = run_one({"max_chars": 4}, "hello")
    assert not over.passed and over.measured == 5


SCHEMA = {
    "type": "object",
    "required": ["name", "items"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "kind": {"enum": ["a", "b"]},
        "items": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
            "type": "object", "required": ["price"],
            "properties": {"price": {"type": "number", "minimum": 0},
                           "count": {"type": "integer"}}}},
    },
}


@pytest.mark.parametrize(("text", "passed", "line"), [
    ('{"name": "x", "items": [{"price": 1.5}]}', True, "JSON valid, follows the schema"),
    ('Here it is:\n```json\n{"name": "x", "items": [{"price": 2}]}\n```\nDone.', True,
     "JSON valid (in a code block), follows the schema"),
    ('```json\n{"name": "x", "items": [{"price": 2}]}', True,  # fence never closed
     "JSON valid (in a code block), follows the schema"),
    ("", False, "JSON invalid: the answer is empty"),
    ('{"name": "x",}', False,
     "JSON invalid: Expecting property name enclosed in double quotes at line 1, column 14"),
    ('["x"]', False, "JSON: $ must be object"),
    ('{"name": "x"}', False, "JSON: $ lacks required key 'items'"),
    ('{"name": "x", "items": [], "extra": 1}', False,
     "JSON: $ has unexpected key 'extra' (and 1 more)"),
    ('{"name": "x", "kind": "c", "items": [{"price": 1}]}', False,
     'JSON: $.kind must be one of ["a", "b"]'),
    ('{"name": "x", "items": [{"price": 1}, {"price": -1, "count": true}]}', False,
     "JSON: $.items[1].price must be ≥ 0 (and 1 more)"),
    ('{"name": "x", "items": [{"price": 1}, {"price": 1}, {"price": 1}]}', False,
     "JSON: $.items must have at most 2 items"),
])
def test_json_against_a_schema(text: str, passed: bool, line: str) -> None:
    result = run_one({"json": {"schema": SCHEMA}}, text)
    assert (result.passed, result.line) == (passed, line)


def test_json_plain_and_with_keys() -> None:
    assert run_one({"json": True}, " [1, 2] \n").line == "JSON valid"
    keys = {"json": {"keys": ["name", "age"]}}
    assert run_one(keys, '{"name": "a", "age": 3}').passed
    assert run_one(keys, '{"name": "a"}').line == "JSON: missing keys age"
    assert run_one(keys, "[]").line == "JSON: $ must be an object"
    # A schema given as a JSON string, as catalogs share them through [texts].
    as_text = run_one({"json": {"schema": '{"type": "array", "items": {"type": "integer"}}'}},
                      "[1, 2.5]")
    assert as_text.line == "JSON: $[1] must be integer"


@pytest.mark.parametrize(("spec", "text", "passed", "line"), [
    (3, '["point 1","point 2", "point 3"]', True, "Python list, 3 items, target 3"),
    (3, "['a', 'b']", False, "Python list, 2 items, target 3"),
    (True, "```python\n['a', 'b']\n```", True, "Python list (in a code block), 2 items"),
    (3, "", False, "Python list invalid: the answer is empty"),
    (3, "{'a': 1}", False, "not a Python list: a dict"),
    (3, '["a", "b" "c"', False, "Python list invalid: SyntaxError: '[' was never closed"),
    (3, "[open('x')]", False, "Python list invalid: ValueError"),  # literals only
    ([2, 4], "['a', 'b', 'c']", True, "Python list, 3 items, target 2–4"),
])
def test_python_list(spec: object, text: str, passed: bool, line: str) -> None:
    result = run_one({"python_list": spec}, text)
    assert (result.passed, result.line) == (passed, line)


REFLECTION = ["thinking", "reflection", "output"]


@pytest.mark.parametrize(("text", "passed", "line"), [
    ("<thinking>\nplan\n<reflection>\nok\n</reflection>\n<reflection>\nagain\n</reflection>\n"
     "</thinking>\n<output>\nanswer\n</output>", True,
     "tags balanced: thinking 1, reflection 2, output 1"),
    ("<Thinking>\n<REFLECTION lang='en'>x</reflection>\n</thinking><output>y</Output><b>z",
     True, "tags balanced: thinking 1, reflection 1, output 1"),
    ("<thinking>\n<reflection>\nhmm\n</thinking>\n<output>x</output>", False,
     "tags: </thinking> at line 4 closes <thinking> while <reflection> from line 2 is open"),
    ("<thinking>\n<reflection>a</reflection>\n<output>x</output>", False,
     "tags: <thinking> from line 1 never closed"),
    ("<thinking>a</thinking>\n<reflection>b</reflection>", False, "tags: <output> missing"),
    ("<thinking>a</thinking></reflection><reflection>b</reflection><output>c</output>", False,
     "tags: </reflection> at line 1 closes nothing"),
    ("", False, "tags: <thinking> missing (and 2 more)"),
])
def test_tags(text: str, passed: bool, line: str) -> None:
    result = run_one({"tags": REFLECTION}, text)
    assert (result.passed, result.line) == (passed, line)


def test_table_check() -> None:
    table = "| Name | Role | Year |\n|---|---|---|\n| A | x | 1 |\n| B | y | 2 |"
    assert run_one({"table": {"rows": 2, "columns": 3}}, table).line == (
        "table 2 rows × 3 columns, target rows 2, columns 3")
    assert not run_one({"table": {"rows": 4}}, table).passed
    assert run_one({"table": True}, "no table").line == "no Markdown table"


def test_results_round_trip_through_json() -> None:
    results = checks.run_checks(checks.parse({"words": [1, 3], "contains": "生鱼片"}),
                                "生鱼片 yes")
    text = checks.to_json(results)
    assert "生鱼片" in text  # stored readable, not \\u-escaped
    assert checks.from_json(text) == results
    assert checks.from_json([r.as_dict() for r in results]) == results
    assert checks.from_json(None) == [] and checks.from_json("") == []
    assert results[0].as_dict() == {"kind": "words", "passed": False, "measured": 4,
                                    "target": "1–3", "line": "words 4, target 1–3"}
    assert checks.summary(results) == "1/2 checks passed" and checks.summary([]) == ""


def test_checks_run_in_declaration_order_on_a_task() -> None:
    cat = catalogs.parse(MINI.replace('prompt = "First task."', 'prompt = "First task."\n'
                                      'checks = { max_chars = 3, sentences = 1 }'), "m.toml")
    assert [r.kind for r in checks.run(cat.task("a"), "Hi.")] == ["max_chars", "sentences"]
    assert checks.run(cat.task("b"), "Hi.") == []


# --- catalogs declaring checks ----------------------------------------------------------


def with_checks(block: str, task: str = "a") -> str:
    """MINI with `block` right after the prompt of task `task` (or the warm-up)."""
    anchor = {"a": 'prompt = "First task."', "b": 'prompt = "Second task."',
              "warm": 'prompt = "Say hi."'}[task]
    return MINI.replace(anchor, anchor + "\n" + block)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_both_toml_shapes_declare_the_same_checks() -> None:
    inline = catalogs.parse(with_checks('checks = { words = [800, 1000], tags = ["a", "b"] }'),
                            "i.toml")
    table = catalogs.parse(with_checks('\n[tasks.checks]\nwords = [800, 1000]\n'
                                       'tags = ["a", "b"]\n'), "t.toml")
    assert inline.task("a").checks == table.task("a").checks
    assert [c.kind for c in inline.task("a").checks] == ["words", "tags"]


def test_shared_text_is_expanded_in_checks() -> None:
    text = with_checks('checks = { json = { schema = "{{schema}}" } }').replace(
        "[warmup]", '[texts]\nschema = \'{"type": "array"}\'\n\n[warmup]')
    cat = catalogs.parse(text, "s.toml")
    assert checks.run(cat.task("a"), "{}")[0].line == "JSON: $ must be array"


@pytest.mark.parametrize(("block", "task", "needle", "message"), [
    ("checks = { sentence = 1 }", "a", "checks =",
     "tasks[0] ('a').checks: unknown check 'sentence' (did you mean 'sentences'?)"),
    ("checks = { words = [1000, 800] }", "b", "checks =",
     "tasks[1] ('b').checks: words: the low end 1000 is above the high end 800"),
    ("checks = { words = [1, 2, 3] }", "a", "checks =", "words takes a whole number, [low, high]"),
    ('checks = { paragraphs = "three" }', "a", "checks =", "paragraphs takes a whole number"),
    ("checks = { sentences = -1 }", "a", "checks =", "sentences must be a whole number 0 or more"),
    ("checks = 5", "a", "checks = 5", "checks must be a table of kind = target"),
    ('checks = { tags = ["<thinking>"] }', "a", "checks =", "tags takes tag names without brackets"),
    ("checks = { contains = [] }", "a", "checks =", "contains takes a non-empty string"),
    ("checks = { max_chars = 0 }", "a", "checks =", "max_chars must be a whole number 1 or more"),
    ("checks = { json = { schema = '{\"type\": \"objct\"}' } }", "a", "checks =",
     "json.schema.type 'objct' is not one of"),
    ("checks = { json = { schema = '{\"pattern\": \"x\"}' } }", "a", "checks =",
     "json.schema: unsupported schema keyword 'pattern'"),
    ("checks = { json = { schema = '{nope' } }", "a", "checks =", "json.schema is not valid JSON"),
    ("checks = { table = { rows = [3, 1] } }", "a", "checks =",
     "table.rows: the low end 3 is above the high end 1"),
    ('checks = { contains = "{{nope}}" }', "a", "checks =", "refers to {{nope}}"),
    ("checks = { words = true }", "warm", "checks =", "warmup ('warm').checks: words takes"),
    # In a [tasks.checks] table the line is the bad check's own.
    ('\n[tasks.checks]\nsentences = 1\nparagraph = 3\n', "a", "paragraph =",
     "unknown check 'paragraph' (did you mean 'paragraphs'?)"),
    ("\n[tasks.checks.json]\nschema = '{\"minItems\": 1, \"oops\": 2}'\n", "b",
     "[tasks.checks.json]", "unsupported schema keyword 'oops'"),
])
def test_bad_checks_fail_with_file_and_line(block: str, task: str, needle: str,
                                            message: str) -> None:
    text = with_checks(block, task)
    with pytest.raises(CatalogError) as info:
        catalogs.parse(text, "bad.toml")
    error = str(info.value)
    assert error.startswith(f"bad.toml:{line_of(text, needle)}: "), error
    assert message in error


def test_the_line_is_found_after_a_multi_line_prompt() -> None:
    text = MINI.replace('prompt = "Second task."', 'prompt = """\n[text]\nA\n[end]"""\n'
                        'checks = { nope = 1 }')
    with pytest.raises(CatalogError, match=rf"^bad.toml:{line_of(text, 'nope')}: "):
        catalogs.parse(text, "bad.toml")


def test_validate_reports_a_bad_check_in_one_line(tmp_path: Path, rbyf_home: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = with_checks("checks = { words = [900, 800] }")
    bad.write_text(text, encoding="utf-8")
    line = assert_one_line_error(run_cli("catalogs", "--validate", str(bad), home=rbyf_home))
    assert f"{bad}:{line_of(text, 'checks =')}: tasks[0] ('a').checks: words: the low end" in line
    good = tmp_path / "good.toml"
    good.write_text(with_checks("checks = { words = [800, 900] }"), encoding="utf-8")
    result = run_cli("catalogs", "--validate", str(good), home=rbyf_home)
    assert result.returncode == 0 and "ok: mini 1, 2 tasks" in result.stdout
