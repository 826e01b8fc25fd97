"""What the export_catalogue / import_catalogue tests (tests/test_catalogue_*.py) share:
the sections of an export, emptying the catalogue, reading an import's refusal, naming a
record as the problems do, and the Hypothesis strategies for any input."""

import pytest
from django.core.management.base import CommandError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Metric,
    Organisation,
    Outcome,
    Partnership,
    Place,
    Sector,
    Source,
    Theme,
)
from tests.readers import import_

RECORDS = (Metric, Source, Partnership, Initiative, Organisation)
REFERENCE_DATA = (Driver, Theme, Outcome, Barrier, Sector, Place)
SECTIONS = [
    "drivers",
    "themes",
    "outcomes",
    "barriers",
    "sectors",
    "places",
    "organisations",
    "initiatives",
    "partnerships",
    "sources",
    "quotes",
    "metrics",
]


def empty_catalogue(reference_data=False):
    for model in RECORDS + (REFERENCE_DATA if reference_data else ()):
        model._default_manager.all().delete()


def import_error(path):
    with pytest.raises(CommandError) as error:
        import_(path)
    return str(error.value)


def where(data, section, index):
    record = data[section][index]
    if "slug" in record:
        return f"{section}[{index}] (slug {record['slug']!r})"
    return f"{section}[{index}] (id {record['id']})"


# ---- any input: a message or a whole import, never a traceback or a partial one ------------

# Every kind of text (NUL, half surrogate pairs, other scripts), numbers beyond any column, and
# values nested a few levels.
TEXT = st.text(st.characters(exclude_categories=()), max_size=20)
EDGES = st.sampled_from(
    [
        *(0, -1, 2**31, 2**63 - 1, 2**63, 20240101, 2020.5, float("inf"), True),
        *("", "\x00", "\ud800", "x" * 700),
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
    | EDGES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=6,
)
ANY_INPUT = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
