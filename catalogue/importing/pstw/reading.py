"""Reading the case list: the CSV file into rows of values, and the helpers that clean
the values (whitespace, text, URLs, countries, dates)."""

import csv
import functools
import re
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django_countries import countries

from catalogue.importing.pstw.tables import (
    COLUMNS,
    COUNTRY_ALIASES,
    OUTCOME_COLUMNS,
    ROW_START,
    URL_LENGTH,
    validate_url,
)


def clean(value):
    """One line of text: runs of whitespace (non-breaking spaces too) as one space, trimmed."""
    return " ".join((value or "").split())


def key(value):
    """How values are compared: cleaned and case-folded."""
    return clean(value).casefold()


def clean_text(value):
    """Multi-line text as Markdown: each line cleaned, each line break a paragraph break."""
    lines = (clean(line) for line in (value or "").splitlines())
    return "\n\n".join(line for line in lines if line)


def shorten(text, limit):
    """`text` in at most `limit` characters, cut at a sentence or word boundary with an
    ellipsis when it had to be cut."""
    if len(text) <= limit:
        return text
    room = text[: limit - 2]
    # The last sentence end (a full stop before a capital or a digit) in the second half.
    sentence_ends = [
        match.end(1)
        for match in re.finditer(r"([.!?][\"\u201d\u2019)]?)\s+(\S)", text[: limit - 1])
        if match.end(1) >= limit // 2 and (match[2].isupper() or match[2].isdigit())
    ]
    if sentence_ends:
        return text[: sentence_ends[-1]] + " …"
    cut = room.rfind(" ")
    if cut < limit // 2:
        return text[: limit - 1] + "…"
    return room[:cut].rstrip(" ,;:-\u2013\u2014") + "…"


def is_url(text):
    if len(text) > URL_LENGTH:
        return False
    try:
        validate_url(text)
    except ValidationError:
        return False
    return True


def trim_url(text):
    """A URL found in prose, without the punctuation that ended the sentence around it."""
    while text and text[-1] in ".,;:!?'\"\u201d\u2019":
        text = text[:-1]
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1]
    return text


def domain(url):
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def tidy(text):
    """The prose left around URLs, without empty brackets and dangling separators."""
    previous = None
    while text != previous:
        previous = text
        text = clean(re.sub(r"\(\s*\)|\[\s*\]", " ", text))
        text = re.sub(r"^(?:and|&)\s+|\s+(?:and|&)$", "", text, flags=re.IGNORECASE)
        text = text.strip(" ,;:-\u2013\u2014&|/")
    return text


@functools.cache
def country_code(name):
    """The ISO code of a country named in English (or by its code); "" when unknown."""
    code = COUNTRY_ALIASES.get(name.casefold()) or countries.by_name(name)
    if not code and len(name) == 2 and countries.name(name.upper()):
        code = name.upper()
    return code or ""


def parse_date(value):
    """DD/MM/YYYY (or ISO) -> date; None when blank; ValueError when not a date."""
    value = clean(value)
    if not value:
        return None
    for pattern in ("%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ValueError(value)


@contextmanager
def whole_values(path):
    """Let csv read a value of any length, so that one too long for VALUE_LENGTH rejects its
    row (with its line) instead of stopping the whole file. The limit is global: restored."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        size = 0  # open() says why
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, size))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


class Lines:
    """The file's lines for csv.reader, one at a time; `next` (the index of the next line
    given) may be moved back to read lines again."""

    def __init__(self, lines):
        self.lines, self.next = lines, 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.next >= len(self.lines):
            raise StopIteration
        self.next += 1
        return self.lines[self.next - 1]


def read_csv(path):
    """(header -> column index, [(line, values, problem)]) with the required columns found.
    `problem` is why the row cannot be read as one (None when it can): its row alone is
    rejected.

    Raises CommandError for a missing, unreadable or wrongly shaped file.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            lines = Lines(list(file))  # split where csv splits them: \n, \r\n or \r
    except FileNotFoundError as exc:
        raise CommandError(f"No such file: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read {path} as UTF-8 CSV: {exc}") from exc
    rows = []
    with whole_values(path):
        reader = csv.reader(lines)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise CommandError(f"Cannot read {path} as UTF-8 CSV: line 1: {exc}") from exc
        if not header:
            raise CommandError(f"{path} is empty: expected a header row.")
        if lines.next > 1:
            raise CommandError(
                f"{path}: the header runs on to line {lines.next}: an unclosed quote in it?"
            )
        positions = header_positions(path, header)
        # How a row starts when the PSTW ID comes first, as in every snapshot so far.
        row_start = ROW_START if positions[key(COLUMNS["pstw_id"])] == 0 else None
        while True:
            first = lines.next
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                rows.append((first + 1, [], f"cannot be read as CSV: {exc}"))
                continue
            if not values:
                continue  # csv skips nothing itself; a blank line is no row
            problem = None
            if len(values) != len(header):
                problem = f"{len(values)} values where the header has {len(header)}"
            elif lines.next - first > 1 and row_start and any(map(row_start.search, values)):
                problem = "a value holds a line that starts as a row does"
            if problem and lines.next - first > 1:
                # A quote that is never closed (or closed too late) makes csv read the rows
                # after it as part of this one: they are read again, as rows.
                problem += (
                    f": a quoted value runs on to line {lines.next} (a closing quote "
                    f"missing?); lines {first + 2} to {lines.next} are read again as rows"
                )
                lines.next = first + 1
            rows.append((first + 1, values, problem))
    return positions, rows


def header_positions(path, header):
    """{column name key: index} of the header, refusing one that lacks a column or has one
    twice: which of the two to read cannot be guessed."""
    found = defaultdict(list)
    for index, name in enumerate(header):
        found[key(name)].append(index)
    wanted = [*COLUMNS.values(), *OUTCOME_COLUMNS]
    missing = [name for name in wanted if key(name) not in found]
    if missing:
        raise CommandError(
            f"{path} is not a Public Sector Tech Watch case list: missing column(s) "
            + ", ".join(f"“{name}”" for name in missing)
            + "."
        )
    for name in wanted:
        indexes = found[key(name)]
        if len(indexes) > 1:
            numbers = [str(index + 1) for index in indexes]
            raise CommandError(
                f"{path}: the column “{name}” is in the header {len(indexes)} times (columns "
                f"{', '.join(numbers[:-1])} and {numbers[-1]}): which to read cannot be told. "
                "Rename or remove all but one."
            )
    return {name: indexes[0] for name, indexes in found.items()}
