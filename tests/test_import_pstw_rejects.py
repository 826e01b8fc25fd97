"""import_pstw: a row the database or the CSV reader refuses rejects only itself (and an
unclosed quote the rows it swallows), with its line; any input is imported or rejected,
never a traceback."""

import csv

import hypothesis
import pytest
from django.core.management.base import CommandError
from django.db import DataError, IntegrityError, transaction
from django.db.models import QuerySet
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from reversion.models import Revision

from catalogue.importing.pstw.tables import VALUE_LENGTH
from catalogue.importing.pstw.writing import Importer
from catalogue.models import Initiative, Organisation
from tests.pstw_support import (
    SAMPLE,
    counts,
    edited_sample,
    record,
    run,
    sample_rows,
)

pytestmark = pytest.mark.django_db

# ---- a bad row rejects only itself ------------------------------------------------------


def test_database_error_rejects_only_its_row(monkeypatch):
    write = Importer.write

    def failing_write(self, mapped, organisation):
        outcome = write(self, mapped, organisation)
        if mapped.pstw_id == "PSTW-9102":
            raise IntegrityError("boom")
        return outcome

    monkeypatch.setattr(Importer, "write", failing_write)
    result, output = run()
    assert counts(result) == (7, 0, 0, 5)
    assert (5, "PSTW-9102", "database error: boom") in [
        (r.line, r.pstw_id, r.reason) for r in result.rejected
    ]
    assert "line 5, PSTW-9102: database error: boom" in output
    # Its savepoint rolled back everything it wrote; the others are whole.
    assert not Initiative.objects.filter(pstw_id="PSTW-9102").exists()
    assert not Organisation.objects.filter(name="Greater London Authority").exists()
    assert not Revision.objects.filter(comment__contains="PSTW-9102").exists()
    assert Revision.objects.count() == 7
    assert record("PSTW-9101").sources.count() == 3


def test_ids_and_years_in_other_digits_are_not_read_as_numbers(tmp_path):
    # "٩١٠١" is 9101 to int(): the row became PSTW-9101 and collided with the real one (or,
    # first in the file, took its record).
    path = edited_sample(
        tmp_path, "PSTW-9102", **{"PSTW ID": "PSTW-\u0669\u0661\u0660\u0661", "Start Year": "२०२०"}
    )
    result, _ = run(path)
    assert counts(result) == (7, 0, 0, 5)
    assert (5, "PSTW-٩١٠١", "PSTW ID 'PSTW-٩١٠١' is not of the form PSTW-123") in [
        (r.line, r.pstw_id, r.reason) for r in result.rejected
    ]
    assert record("PSTW-9101").title == "Smart parking pilot"
    path = edited_sample(tmp_path, "PSTW-9102", **{"Start Year": "२०२०"})
    result, _ = run(path)
    assert "line 5, PSTW-9102: year: start year '२०२०' is not a year; left blank" in [
        str(w) for w in result.warnings
    ]
    assert record("PSTW-9102").start_year is None


def test_nul_character_rejects_only_its_row(tmp_path):
    # PostgreSQL's text cannot hold NUL; a new organisation named with one was inserted with
    # all the others, outside the rows' savepoints, and the whole import failed.
    path = edited_sample(
        tmp_path, "PSTW-9102", **{"Responsible organisation": "Greater London\x00 Authority"}
    )
    result, output = run(path)
    assert counts(result) == (7, 0, 0, 5)
    assert (5, "PSTW-9102", "NUL character in “Responsible organisation”") in [
        (r.line, r.pstw_id, r.reason) for r in result.rejected
    ]
    assert "line 5, PSTW-9102: NUL character in “Responsible organisation”" in output
    assert not Initiative.objects.filter(pstw_id="PSTW-9102").exists()
    assert not Organisation.objects.filter(name__startswith="Greater London").exists()


def test_a_value_too_long_rejects_only_its_row(tmp_path):
    # csv refused the whole file ("field larger than field limit (131072)"), with no line.
    path = edited_sample(tmp_path, "PSTW-9102", Description="x" * 10_000_000)
    result, output = run(path)
    assert counts(result) == (7, 0, 0, 5)
    reason = "“Description” is 10,000,000 characters, more than the 131,072 a value may have"
    assert (5, "PSTW-9102", reason) in [(r.line, r.pstw_id, r.reason) for r in result.rejected]
    assert f"line 5, PSTW-9102: {reason}" in output
    assert not Initiative.objects.filter(pstw_id="PSTW-9102").exists()
    assert csv.field_size_limit() == 131_072  # as it was


@pytest.mark.parametrize(
    ("pstw_id", "before", "after", "line", "reason"),
    [
        # Closed by the next quote in the file, three lines on: csv read the next rows into it.
        (
            "PSTW-9102",
            ",Blockchain land register,",
            ',"Blockchain land register,',
            5,
            "57 values where the header has 56: a quoted value runs on to line 8 (a closing "
            "quote missing?); lines 6 to 8 are read again as rows",
        ),
        # Never closed: csv read the rest of the file into it.
        ("pstw-9110", ",Hologram help desk,", ',"Hologram help desk,', 17, "2 values where"),
    ],
)
def test_an_unclosed_quote_rejects_its_row_and_the_rows_after_it_import(
    tmp_path, pstw_id, before, after, line, reason
):
    text = SAMPLE.read_text(encoding="utf-8-sig")
    row = next(row for row in text.splitlines() if row.startswith(pstw_id))
    assert before in row
    path = tmp_path / "quote.csv"
    path.write_text(text.replace(row, row.replace(before, after, 1)), encoding="utf-8")
    result, _ = run(path)
    assert counts(result) == (7, 0, 0, 5)
    rejected = {r.line: r.reason for r in result.rejected}
    assert rejected.pop(line).startswith(reason)
    # Every other row is read as before.
    assert result.rows == 12
    assert rejected == {
        7: "no name",
        8: "duplicate PSTW ID (first on line 2)",
        11: "no responsible organisation",
        12: "no PSTW ID",
    }
    assert not Initiative.objects.filter(pstw_id=pstw_id.upper()).exists()


def test_an_unclosed_quote_that_leaves_the_width_right_is_found_too(tmp_path):
    # Opened in the last value of a row, closed at the end of the next: 56 values still.
    header, *rows = sample_rows()
    rows[1][-1], rows[2][-1] = "01/01/2024", "02/02/2024"  # PSTW-9102 and PSTW-9103
    path = tmp_path / "quote.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([header, *rows])
    text = path.read_bytes().decode()
    text = text.replace(",01/01/2024\r\n", ',"01/01/2024\r\n').replace(
        ",02/02/2024\r\n", ',02/02/2024"\r\n'
    )
    path.write_bytes(text.encode())
    result, _ = run(path)
    assert counts(result) == (7, 0, 0, 5)
    assert (5, "PSTW-9102") in [(r.line, r.pstw_id) for r in result.rejected]
    assert next(r.reason for r in result.rejected if r.line == 5) == (
        "a value holds a line that starts as a row does: a quoted value runs on to line 6 (a "
        "closing quote missing?); lines 6 to 6 are read again as rows"
    )
    assert not Initiative.objects.filter(pstw_id="PSTW-9102").exists()
    assert record("PSTW-9103").title == "Quantum-safe EU signatures"


def test_a_row_of_the_wrong_width_is_rejected(tmp_path):
    path = tmp_path / "short.csv"
    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    lines[4] = lines[4].rstrip("\n").rsplit(",", 1)[0] + "\n"  # PSTW-9102, one value short
    path.write_text("".join(lines), encoding="utf-8")
    result, _ = run(path)
    assert counts(result) == (7, 0, 0, 5)
    assert (5, "PSTW-9102", "55 values where the header has 56") in [
        (r.line, r.pstw_id, r.reason) for r in result.rejected
    ]


def test_an_organisation_the_database_refuses_rejects_only_the_rows_it_leads(monkeypatch):
    # New organisations are saved in one statement, before and outside the rows' savepoints:
    # one the database refused took the whole import with it.
    def refusing(self, *args, **kwargs):
        if self.name == "Greater London Authority":
            raise DataError("value refused")
        return save(self, *args, **kwargs)

    def bulk_refusing(self, objects, *args, **kwargs):
        if any(getattr(o, "name", None) == "Greater London Authority" for o in objects):
            raise DataError("value refused")
        return bulk_create(self, objects, *args, **kwargs)

    save, bulk_create = Organisation.save, QuerySet.bulk_create
    monkeypatch.setattr(Organisation, "save", refusing)
    monkeypatch.setattr(QuerySet, "bulk_create", bulk_refusing)
    result, output = run()
    assert counts(result) == (7, 0, 0, 5)
    reason = "database error saving its organisation: value refused"
    assert (5, "PSTW-9102", reason) in [(r.line, r.pstw_id, r.reason) for r in result.rejected]
    assert f"line 5, PSTW-9102: {reason}" in output
    assert not Initiative.objects.filter(pstw_id="PSTW-9102").exists()
    assert record("PSTW-9101").lead_organisation.pk


# ---- any input: rows imported or rejected with their line, never a traceback ----------------

# Any character a UTF-8 file can hold (NUL, other scripts' digits, quotes, line breaks).
CELLS = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", '"', '"x', "\x00", "\r\n", "PSTW-\u0669", "x" * (VALUE_LENGTH + 1)]
)
ANY_INPUT = hypothesis.settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def every_row_accounted_for(path):
    """Import in a savepoint rolled back after: each row created, updated, unchanged or
    rejected with its line and a reason."""
    with transaction.atomic():
        result, _ = run(path, verbosity=0)
        transaction.set_rollback(True)
    assert result.created + result.updated + result.unchanged + len(result.rejected) == (
        result.rows
    )
    assert all(rejection.reason and rejection.line > 1 for rejection in result.rejected)
    return result


@ANY_INPUT
@given(data=st.data())
def test_any_text_in_any_cell_imports_or_rejects_its_row(tmp_path, data):
    header, *rows = sample_rows()
    for _ in range(data.draw(st.integers(1, 4))):
        row = data.draw(st.sampled_from(rows))
        row[data.draw(st.integers(0, len(header) - 1))] = data.draw(CELLS)
    path = tmp_path / "any.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([header, *rows])
    result = every_row_accounted_for(path)
    assert result.rows == len(rows)


@ANY_INPUT
@given(text=st.text(st.characters(codec="utf-8"), max_size=300))
def test_any_text_after_the_header_is_read_or_refused_with_a_message(tmp_path, text):
    header = SAMPLE.read_text(encoding="utf-8-sig").splitlines(keepends=True)[0]
    path = tmp_path / "any.csv"
    path.write_text(header + text, encoding="utf-8", newline="")
    try:
        every_row_accounted_for(path)
    except CommandError as error:
        assert str(error)
