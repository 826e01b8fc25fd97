"""How the values of a file are checked and shown in its problems."""

import math

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import UniqueConstraint

HEADER = ("format", "version", "exported_at")
# The largest id a record may have. The ids are bigint (BigAutoField), but after an import
# each sequence is moved past the highest id: one near 2**63 - 1 would leave it no room, and
# every new record would fail. 2**31 - 1 is far beyond any catalogue's size (it is also the
# largest id an integer column holds) and leaves the sequences 2**63 - 2**31 ids more.
MAX_ID = 2**31 - 1


def is_id(value):
    return isinstance(value, int) and not isinstance(value, bool)


def shown(value, limit=80):
    """A value from the file as a problem shows it: as Python writes it, cut short."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "-Infinity" if value < 0 else "Infinity"
    text = repr(value)
    if len(text) > limit:
        length = f"{len(value):,} characters" if isinstance(value, str) else "cut"
        return f"{text[: limit - 1]}… ({length})"
    return text


def unstorable(text):
    """Why the database cannot store some text, or None. PostgreSQL's text holds no NUL (and
    the admin's forms refuse one); JSON can escape half a surrogate pair, which is no
    character and cannot be encoded for any database."""
    if "\x00" in text:
        return "Null characters are not allowed."
    try:
        text.encode()
    except UnicodeEncodeError as error:
        return (
            f"{text[error.start]!r} at character {error.start + 1:,} is half a surrogate "
            "pair, not a character"
        )
    return None


def could_be_username(text):
    User = get_user_model()
    limit = User._meta.get_field(User.USERNAME_FIELD).max_length
    return not unstorable(text) and len(text) <= limit


# References that two records must share when one names the other: a record's sources and
# quotes are its own (the admin offers no others), and a metric's quote is from the source the
# metric cites ("This passage is from another source").
AGREEING = ("initiative", "source")


def has_reference(model, name):
    try:
        return model._meta.get_field(name).many_to_one
    except FieldDoesNotExist:
        return False


def repeated_keys(record):
    return getattr(record, "repeated", ())


def json_kind(f):
    """(JSON types, in words) of a field's values, as export_catalogue writes them."""
    if isinstance(f, models.BooleanField):
        return (bool,), "true or false"
    if isinstance(f, models.IntegerField):
        return (int,), "a whole number"
    if isinstance(f, models.FloatField):
        return (int, float), "a number"
    if isinstance(f, models.DecimalField):
        return (str, int), 'a decimal number written as text, e.g. "12.50"'
    if isinstance(f, models.DateTimeField):
        return (str,), 'a date and time written as text, e.g. "2024-02-29T12:00:00+00:00"'
    if isinstance(f, models.DateField):
        return (str,), 'a date written as text, e.g. "2024-02-29"'
    return (str,), "text"


def written_as(f, value):
    """Whether a (non-null) value is of a JSON type the field is written as."""
    types = json_kind(f)[0]
    if isinstance(value, bool):  # an int to Python
        return bool in types
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, types)


def position(section, index, record):
    """'initiatives[12] (slug 'x')': where a record is, and which it is."""
    where = f"{section.name}[{index}]"
    if isinstance(record, dict):
        if "slug" in section.keys and isinstance(record.get("slug"), str):
            return f"{where} (slug {shown(record['slug'])})"
        if is_id(record.get("id")):
            return f"{where} (id {record['id']})"
    return where


def unique_sets(section):
    """(field names, condition or None) of every uniqueness rule of the section's model."""
    meta = section.model._meta
    rules = [((f.name,), None) for f in section.fields if f.unique]
    rules += [(tuple(names), None) for names in meta.unique_together]
    rules += [
        (tuple(c.fields), c.condition)
        for c in meta.constraints
        if isinstance(c, UniqueConstraint) and c.fields and not c.expressions
    ]
    return rules


def and_join(words):
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
