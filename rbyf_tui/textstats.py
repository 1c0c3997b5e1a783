"""Counting an answer as the person reading it sees it: words, sentences, paragraphs, list
items, Markdown tables. Pure functions on text; the automatic checks (checks.py) use them.

The rules, so a count can be reproduced by hand:

- Code fences. A line opening with three or more backticks or tildes starts a code block that
  runs to a closing fence of the same character (at least as long), or to the end of the
  answer when it is never closed. The fence lines are markup and never counted. The code
  inside counts as words (the reader sees them) but holds no sentences, paragraphs or list
  items; a whole code block is one paragraph.
- Markup. Headings' `#` marks, emphasis (`*`, `_`, `~~`), inline-code backticks, block
  quotes' `>`, link and image syntax (the visible text is kept, the address dropped) and
  HTML-like tags (`<thinking>`) are not counted as words; the text between them is.
- Words. A word is a run of letters or digits, with inner apostrophes or hyphens
  ("don't", "long-term") or decimal points ("3.14") kept inside it. Chinese and Japanese
  are written without spaces: each Han, Hiragana or Katakana character counts as one word,
  which is how Chinese counts length (字数): "800–1000 字" and "800–1000 words" use the same
  check. Korean separates its words with spaces and is counted like English.
- Sentences. A sentence ends at `.`, `!`, `?`, `…` or `．` followed by a space or the end
  of a line (closing quotes and brackets may come between); at `。`, `！`, `？` wherever
  they stand, and at `!` or `?` right before a CJK character; and at the end of a
  paragraph or list item (a list item's marker ends nothing). A `.` after a single letter
  ("U.S.", "J. Smith", "e.g.") or a common title or abbreviation ("Dr.", "Mr.", "vs.",
  "Inc.") does not end one. Only pieces holding a letter or digit count, so "..." alone is
  no sentence. Headings, tables and code hold no sentences.
- Paragraphs. Blocks of text separated by blank lines (a line of spaces is blank); a
  block made only of headings, horizontal rules or tags is not a paragraph. When the
  answer is a single block of several lines with no list in it, each line holding a word
  is a paragraph: some models separate paragraphs with a single line break.
- List items. Lines starting with `-`, `*`, `+` or `•`, or a number followed by `.`, `)` or
  `、` (also `（1）` and `一、`), possibly wrapped in bold ("**1. Economy**"). Only items at
  the outermost indentation count: sub-items belong to their item.
- Tables. A Markdown table is a run of lines starting with `|` whose second line is the
  `|---|---|` separator; its rows are the lines after the separator, its columns the header
  cells.
- Characters are Unicode code points of the answer with leading and trailing whitespace
  removed, markup included (that is what a length limit in a prompt means).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING_RE = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_RULE_RE = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A word: letters/digits (not underscore, not CJK), with inner ' ’ - or digit.digit kept.
_LETTER = rf"[^\W_{_CJK}]"
_WORD_RE = re.compile(rf"{_LETTER}+(?:(?:['’\-]|(?<=\d)[.,](?=\d)){_LETTER}+)*|[{_CJK}]")
_TAG_RE = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK_RE = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*{1,3}|_{2,3}|~~|`+)")
# A list item's marker: symbols and "1." need a space after them, CJK numbering does not.
_BULLET_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?:\*\*|__)?"
    r"(?:(?:[-*+•●▪]|\d{1,3}[.)])(?:\*\*|__)?\s+"
    r"|(?:\d{1,3}[、．]|[（(]\d{1,3}[)）]|[一二三四五六七八九十]{1,3}、)(?:\*\*|__)?\s*)(?=\S)")
# Sentence ends: Western marks need a following space or line end; CJK marks end anywhere.
_END_RE = re.compile(rf"[.!?…．]+['\"’”)\]]*(?=\s|$)|[。！？｡]+[」』”’）)]*|[!?]+(?=[{_CJK}])")
_ABBREVIATIONS = {
    "vs", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "fig", "approx", "cf", "al",
    "inc", "ltd", "dept", "mt",
}


@dataclass(frozen=True)
class Block:
    """A paragraph-level piece of the answer: `kind` is code, heading, rule, table or text."""

    kind: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def blocks(text: str) -> list[Block]:
    """The answer cut into blocks: fenced code, and runs of lines between blank lines (with
    headings, horizontal rules and tables split off as blocks of their own)."""
    out: list[Block] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            out.extend(_split_text_block(current))
            current.clear()

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE_RE.match(line)
        if fence:
            flush()
            mark = fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines):
                closing = _FENCE_RE.match(lines[i])
                if (closing and closing.group(1)[0] == mark[0]
                        and len(closing.group(1)) >= len(mark) and not closing.group(2).strip()):
                    break
                body.append(lines[i])
                i += 1
            out.append(Block("code", tuple(body)))
            i += 1  # past the closing fence (or the end)
            continue
        if line.strip():
            current.append(line)
        else:
            flush()
        i += 1
    flush()
    return out


def _split_text_block(lines: list[str]) -> list[Block]:
    out: list[Block] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            out.append(Block("text", tuple(text)))
            text.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if (line.lstrip().startswith("|") and i + 1 < len(lines)
                and _TABLE_SEP_RE.match(lines[i + 1])):
            flush()
            rows = [line, lines[i + 1]]
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(lines[i])
                i += 1
            out.append(Block("table", tuple(rows)))
            continue
        if _HEADING_RE.match(line):
            flush()
            out.append(Block("heading", (line,)))
        elif _RULE_RE.match(line):
            flush()
            out.append(Block("rule", (line,)))
        else:
            text.append(line)
        i += 1
    flush()
    return out


def strip_markup(text: str) -> str:
    """Markdown and HTML-like markup removed from a piece of text (not code blocks)."""
    text = _TAG_RE.sub(" ", text)
    text = _IMAGE_RE.sub(r"\1", text)
    text = _LINK_RE.sub(r"\1", text)
    text = re.sub(r"^\s{0,3}#{1,6}\s*", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\s*>+\s?", "", text, flags=re.MULTILINE)
    return _EMPHASIS_RE.sub("", text)


def visible_text(text: str) -> str:
    """The answer's words as a reader sees them: markup and fence lines gone, code kept."""
    parts = []
    for block in blocks(text):
        if block.kind == "code":
            parts.append(block.text)
        elif block.kind == "table":
            parts.append("\n".join(line.replace("|", " ") for line in block.lines
                                   if not _TABLE_SEP_RE.match(line)))
        elif block.kind != "rule":
            parts.append(strip_markup(block.text))
    return "\n\n".join(parts)


def word_list(text: str) -> list[str]:
    return _WORD_RE.findall(visible_text(text))


def words(text: str) -> int:
    """Words as the rules above count them; each CJK character is one."""
    return len(word_list(text))


def _is_abbreviation(piece: str) -> bool:
    """Does the piece (text up to a '.') end with a single letter or a short abbreviation?"""
    match = re.search(r"(?:^|[\s(\"'“‘])([A-Za-z](?:\.[A-Za-z])*|[A-Za-z]{1,6})$", piece)
    if not match:
        return False
    token = match.group(1)
    return len(token) == 1 or "." in token or token.lower() in _ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """The sentences of a piece of prose (markup already stripped), in order."""
    out: list[str] = []
    start = 0
    for match in _END_RE.finditer(text):
        piece = text[start:match.end()]
        if match.group().startswith(".") and len(match.group().rstrip("'\"’”)]")) == 1 \
                and _is_abbreviation(text[start:match.start()]):
            continue  # "e.g." or "U.S." inside a sentence
        out.append(piece)
        start = match.end()
    out.append(text[start:])
    return [s.strip() for s in out if re.search(r"[^\W_]", s)]


def sentence_list(text: str) -> list[str]:
    """Every sentence of the answer: a paragraph, list item or line of a table ends one;
    code, headings and tables hold none."""
    out: list[str] = []
    for block in blocks(text):
        if block.kind != "text":
            continue
        for piece in _item_pieces(block.lines):
            piece = _BULLET_RE.sub("", piece, count=1)  # "1." opens an item, ends nothing
            out.extend(split_sentences(strip_markup(piece).replace("\n", " ")))
    return out


def sentences(text: str) -> int:
    return len(sentence_list(text))


def _item_pieces(lines: tuple[str, ...]) -> list[str]:
    """A text block's lines grouped so each list item is a piece of its own."""
    pieces: list[list[str]] = []
    for line in lines:
        if _BULLET_RE.match(line) or not pieces:
            pieces.append([line])
        else:
            pieces[-1].append(line)
    return ["\n".join(p) for p in pieces]


def paragraph_list(text: str) -> list[str]:
    """Blocks separated by blank lines (headings and rules excluded); with no blank line in
    the whole answer, its lines."""
    found = [b for b in blocks(text) if b.kind in ("text", "code", "table")]
    found = [b for b in found if b.kind != "text" or re.search(r"[^\W_]", strip_markup(b.text))]
    if len(found) == 1 and found[0].kind == "text" and len(found[0].lines) > 1 \
            and not any(_BULLET_RE.match(line) for line in found[0].lines):
        return [line.strip() for line in found[0].lines
                if re.search(r"[^\W_]", strip_markup(line))]
    return [b.text for b in found]


def paragraphs(text: str) -> int:
    return len(paragraph_list(text))


def list_item_list(text: str) -> list[str]:
    """The outermost list items (outside code blocks), in order."""
    items: list[tuple[int, str]] = []
    for block in blocks(text):
        if block.kind != "text":
            continue
        for line in block.lines:
            match = _BULLET_RE.match(line.expandtabs(4))
            if match:
                items.append((len(match.group("indent")), line.strip()))
    if not items:
        return []
    outer = min(indent for indent, _ in items)
    return [item for indent, item in items if indent <= outer + 1]


def list_items(text: str) -> int:
    return len(list_item_list(text))


@dataclass(frozen=True)
class Table:
    columns: int
    rows: int  # data rows, after the separator


def tables(text: str) -> list[Table]:
    """The Markdown tables of the answer (outside code blocks)."""
    out = []
    for block in blocks(text):
        if block.kind == "table":
            header = block.lines[0].strip().strip("|")
            out.append(Table(columns=len(header.split("|")), rows=len(block.lines) - 2))
    return out


def characters(text: str) -> int:
    return len(text.strip())
