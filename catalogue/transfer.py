"""What export_catalogue and import_catalogue share: the file's sections and record fields,
how values are written, a reader that walks a large file one record at a time, an in-Python
check of the models' check constraints. (Progress lines: catalogue/progress.py.)

The file format itself is described in catalogue/management/commands/export_catalogue.py.
"""

import datetime
import itertools
import json
import operator
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F, Q

from catalogue.models import (
    Barrier,
    Driver,
    HistoryEntry,
    Initiative,
    Metric,
    Organisation,
    Outcome,
    Partnership,
    Place,
    Proposal,
    Quote,
    Sector,
    Source,
    Theme,
)
from catalogue.vocabularies import VOCABULARIES

FORMAT = "catalogue-export"
# 2: quotes, and organisations' unnamed and sources' copy_file (issue 13).
VERSION = 2

# Columns the database derives (migration 0002's triggers); never written, never read.
DERIVED = {"search_vector"}


@dataclass
class Section:
    """One top-level array of the file: the records of one model."""

    name: str
    model: type
    # Reference data: may already be in the target database if it is identical to the file's.
    reference: bool = False
    fields: list = field(init=False)  # concrete fields but the primary key and derived ones
    many_to_many: list = field(init=False)  # tag fields, written as lists of ids
    keys: list = field(init=False)  # every key a record has, in the order written
    users: frozenset = field(init=False)  # fields naming a user, written as usernames

    def __post_init__(self):
        meta = self.model._meta
        self.fields = [
            f
            for f in meta.concrete_fields
            if not f.primary_key and f.name not in DERIVED and not f.generated
        ]
        # Links with a model of their own (Initiative.partners, through Partnership) are
        # exported as that model's section instead.
        self.many_to_many = [
            f for f in meta.many_to_many if f.remote_field.through._meta.auto_created
        ]
        self.keys = ["id", *(f.name for f in self.fields), *(f.name for f in self.many_to_many)]
        self.users = frozenset(f.name for f in self.fields if is_user(f))

    @property
    def label(self):
        return self.model._meta.verbose_name_plural


def is_user(f):
    return f.is_relation and f.related_model is get_user_model()


# The editorial record, not the catalogue: like django-reversion's history, which these
# belong with, they are kept by pg_dump backups and not by the export.
NOT_EXPORTED = {HistoryEntry, Proposal}

# In dependency order: every reference points at a section before it.
SECTIONS = [
    Section("drivers", Driver, reference=True),
    Section("themes", Theme, reference=True),
    Section("outcomes", Outcome, reference=True),
    Section("barriers", Barrier, reference=True),
    Section("sectors", Sector, reference=True),
    Section("places", Place, reference=True),
    Section("organisations", Organisation),
    Section("initiatives", Initiative),
    Section("partnerships", Partnership),
    Section("sources", Source),
    Section("quotes", Quote),
    Section("metrics", Metric),
]
SECTION_NAMES = [section.name for section in SECTIONS]

# A reference to a model with no section could not be restored: fail loudly, not on import.
for _section in SECTIONS:
    for _field in [*_section.fields, *_section.many_to_many]:
        if (
            _field.is_relation
            and _field.name not in _section.users
            and _field.related_model not in {section.model for section in SECTIONS}
        ):
            raise ImproperlyConfigured(
                f"{_section.model.__name__}.{_field.name} refers to "
                f"{_field.related_model.__name__}, which the catalogue export does not include."
            )
# The vocabularies' sections (catalogue/vocabularies.py): a new vocabulary with no section
# above fails the check just before.
TAXONOMY_SECTIONS = {v.plural for v in VOCABULARIES}


def to_json(value):
    """A database value as JSON: text for dates, times and decimals (never a float)."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)  # a Country, say


def chunks(section, chunk_size, usernames):
    """Lists of the section's records as JSON-ready dicts, in id order, read chunk_size at a
    time with the tags of each chunk's records; usernames maps user ids to usernames."""
    attnames = [f.attname for f in section.fields]
    users = {f.attname for f in section.fields if f.name in section.users}
    rows = (
        section.model._default_manager.order_by("pk")
        .values_list("pk", *attnames)
        .iterator(chunk_size=chunk_size)
    )
    for chunk in itertools.batched(rows, chunk_size):
        links = {f.name: _links(f, chunk[0][0], chunk[-1][0]) for f in section.many_to_many}
        records = []
        for pk, *values in chunk:
            record = {"id": pk}
            for f, attname, value in zip(section.fields, attnames, values, strict=True):
                if attname in users:
                    record[f.name] = None if value is None else usernames[value]
                else:
                    record[f.name] = to_json(value)
            for name, by_record in links.items():
                record[name] = by_record.get(pk, [])
            records.append(record)
        yield records


def _links(m2m, first, last):
    """{record id: sorted target ids} of a many-to-many field, for the ids first to last."""
    through = m2m.remote_field.through
    source = through._meta.get_field(m2m.m2m_field_name()).attname
    target = through._meta.get_field(m2m.m2m_reverse_field_name()).attname
    pairs = (
        through._default_manager.filter(**{f"{source}__gte": first, f"{source}__lte": last})
        .order_by(source, target)
        .values_list(source, target)
    )
    by_record = defaultdict(list)
    for pk, target_pk in pairs:
        by_record[pk].append(target_pk)
    return by_record


def count_phrase(counts):
    """'23 initiatives, 40 organisations, ..., 43 taxonomy terms and 31 places'."""
    words = [
        ("initiatives", "initiative", "initiatives"),
        ("organisations", "organisation", "organisations"),
        ("partnerships", "partnership", "partnerships"),
        ("sources", "source", "sources"),
        ("quotes", "quote", "quotes"),
        ("metrics", "metric", "metrics"),
        ("taxonomy", "taxonomy term", "taxonomy terms"),
        ("places", "place", "places"),
    ]
    totals = dict(counts)
    totals["taxonomy"] = sum(totals.pop(name, 0) for name in TAXONOMY_SECTIONS)
    parts = [
        f"{totals.get(key, 0):,} {one if totals.get(key, 0) == 1 else many}"
        for key, one, many in words
    ]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# The check constraints, evaluated in Python as SQL would (NULL is unknown, and a check
# passes unless its condition is false), so that a file can be checked without a query per
# record. Lookups it does not know make a constraint unevaluable: the database still has it.


class Unsupported(Exception):
    pass


COMPARISONS = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def evaluate(condition, values):
    """True, False or None (unknown) for a Q over {field name: value}."""
    results = []
    for child in condition.children:
        if isinstance(child, Q):
            results.append(evaluate(child, values))
        else:
            results.append(_compare(*child, values))
    if condition.connector == Q.AND:
        result = False if False in results else None if None in results else True
    elif condition.connector == Q.OR:
        result = True if True in results else None if None in results else False
    else:
        raise Unsupported(condition.connector)
    if condition.negated and result is not None:
        result = not result
    return result


def referenced(condition):
    """The field names a Q refers to."""
    names = set()
    for child in condition.children:
        if isinstance(child, Q):
            names |= referenced(child)
        else:
            lookup, expected = child
            names.add(lookup.split("__")[0])
            if isinstance(expected, F):
                names.add(expected.name)
    return names


def _compare(lookup, expected, values):
    name, _, kind = lookup.partition("__")
    kind = kind or "exact"
    if name not in values or "__" in kind:
        raise Unsupported(lookup)
    actual = values[name]
    if isinstance(expected, F):
        if expected.name not in values:
            raise Unsupported(lookup)
        expected = values[expected.name]
    elif hasattr(expected, "resolve_expression"):
        raise Unsupported(lookup)
    if kind == "isnull":
        return (actual is None) == bool(expected)
    if kind == "exact" and expected is None:
        return actual is None
    if actual is None:
        return None
    if kind == "in":
        return actual in expected
    if kind not in COMPARISONS:
        raise Unsupported(lookup)
    if expected is None:
        return None
    return COMPARISONS[kind](actual, expected)


# Reading: the file is walked one value at a time, so that a catalogue of any size is never
# held in memory whole. The C decoder parses each record; this only finds where records are.

WHITESPACE = re.compile(r"[ \t\n\r]*")


class JSONStreamError(ValueError):
    def __init__(self, message, line, column):
        self.line, self.column = line, column
        super().__init__(f"{message} (line {line}, column {column})")


class LongNumber:
    """A whole number of more digits than int() reads (sys.get_int_max_str_digits()): valid
    JSON, but no value of any field, so kept as its length for the problem it is."""

    def __init__(self, text):
        self.digits = len(text.lstrip("-"))

    def __repr__(self):
        return f"(a number of {self.digits:,} digits)"


class Repeated(dict):
    """An object in which some key is given more than once: json keeps the last, silently.
    `repeated` says which, for the problem it is."""

    repeated = ()


def read_object(pairs):
    record = dict(pairs)
    if len(record) < len(pairs):
        record = Repeated(record)
        times = Counter(key for key, _ in pairs)
        record.repeated = tuple(sorted(key for key, count in times.items() if count > 1))
    return record


def read_int(text):
    try:
        return int(text)
    except ValueError:
        return LongNumber(text)


class JSONStream:
    """A JSON object whose values are scalars or arrays, read key by key and element by
    element: iterate items() for (key, value) pairs, where an array's value is an iterator
    over its elements that must be used up (or dropped) before the next pair is read."""

    CHUNK = 1 << 20
    # An error this close to the end of what has been read may just be a value cut in two.
    MARGIN = 64

    def __init__(self, stream):
        self.stream = stream
        self.buffer, self.pos = "", 0
        self.lines_before = 0  # newlines in the text already dropped from the buffer
        self.eof = False
        self.decoder = json.JSONDecoder(object_pairs_hook=read_object)
        # Only for a value the first cannot read: int() of every number is the fast way.
        self.lenient = json.JSONDecoder(object_pairs_hook=read_object, parse_int=read_int)

    def _fill(self):
        if self.eof:
            return False
        chunk = self.stream.read(self.CHUNK)
        if not chunk:
            self.eof = True
            return False
        if self.pos:
            self.lines_before += self.buffer.count("\n", 0, self.pos)
            self.buffer = self.buffer[self.pos :]
            self.pos = 0
        if not self.buffer and not self.lines_before and chunk.startswith("\ufeff"):
            chunk = chunk[1:]  # a byte order mark
        self.buffer += chunk
        return True

    def error(self, message, pos=None):
        pos = self.pos if pos is None else pos
        line = self.lines_before + self.buffer.count("\n", 0, pos) + 1
        column = pos - self.buffer.rfind("\n", 0, pos)
        return JSONStreamError(message, line, column)

    def _skip(self):
        while True:
            self.pos = WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer) or not self._fill():
                return

    def _peek(self):
        self._skip()
        return self.buffer[self.pos] if self.pos < len(self.buffer) else ""

    def _expect(self, allowed, what):
        char = self._peek()
        if not char or char not in allowed:
            found = repr(char) if char else "the end of the file"
            raise self.error(f"invalid JSON: expected {what}, found {found}")
        self.pos += 1
        return char

    def _value(self):
        self._skip()
        decoder = self.decoder
        while True:
            try:
                value, end = decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                near_end = error.pos >= len(self.buffer) - self.MARGIN
                if (near_end or error.msg.startswith("Unterminated string")) and self._fill():
                    continue
                raise self.error(f"invalid JSON: {error.msg}", error.pos) from None
            except RecursionError:
                # The decoder recurses into arrays and objects; a record is two levels deep.
                raise self.error("invalid JSON: nested too deeply to read") from None
            except ValueError:
                # A number too long for int(): read again, with it kept as a LongNumber.
                if decoder is self.lenient:
                    raise self.error("invalid JSON: a value that cannot be read") from None
                decoder = self.lenient
                continue
            # A number or literal that ends the buffer may go on in the next chunk.
            if end >= len(self.buffer) - self.MARGIN and self._fill():
                continue
            self.pos = end
            return value

    def _array(self):
        self.pos += 1  # [
        if self._peek() == "]":
            self.pos += 1
            return
        while True:
            yield self._value()
            if self._expect(",]", "',' or ']' after an array element") == "]":
                return

    def items(self):
        first = self._peek()
        if not first:
            raise self.error("the file is empty")
        if first in '["-0123456789tfn':
            raise self.error("the document is not a JSON object")
        self._expect("{", "a JSON object")
        if self._peek() == "}":
            self.pos += 1
        else:
            while True:
                if self._peek() != '"':
                    raise self.error("invalid JSON: expected a key in double quotes")
                key = self._value()
                self._expect(":", "':' after a key")
                if self._peek() == "[":
                    elements = self._array()
                    yield key, elements
                    for _ in elements:  # whatever the caller did not read
                        pass
                else:
                    yield key, self._value()
                if self._expect(",}", "',' or '}' after a value") == "}":
                    break
        if self._peek():
            raise self.error("invalid JSON: more after the end of the document")
