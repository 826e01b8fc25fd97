"""import_pstw: bad files are command errors, the reading and mapping helpers, and the
real case list (at $PSTW_CSV or ../shared/data/pstw/) imports every row and reimports
unchanged; it skips when the file is not there, except on CI."""

import csv
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.base import CommandError
from reversion.models import Revision

from catalogue.importing.pstw import mapping
from catalogue.importing.pstw.reading import shorten
from catalogue.models import Initiative
from tests.pstw_support import (
    DOI,
    SUMMARY_LINE,
    counts,
    run,
    sample_rows,
)

pytestmark = pytest.mark.django_db

# ---- bad files and helpers ------------------------------------------------------------------


def test_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "nowhere.csv")


def test_missing_columns_are_a_command_error(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("PSTW ID,Name\nPSTW-1,Something\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"missing column.*“Responsible organisation”"):
        run(path)


def test_a_column_read_twice_is_a_command_error(tmp_path):
    # csv gives both; the importer read the first and never said.
    header, *rows = sample_rows()
    path = tmp_path / "twice.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([[*header, " name"], *([*row, "Other"] for row in rows)])
    with pytest.raises(CommandError) as error:
        run(path)
    assert str(error.value) == (
        f"{path}: the column “Name” is in the header 2 times (columns 2 and 57): which to "
        "read cannot be told. Rename or remove all but one."
    )
    assert not Initiative.objects.exists()


def test_a_column_not_read_may_be_there_twice(tmp_path):
    header, *rows = sample_rows()
    path = tmp_path / "twice.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([[*header, "", ""], *([*row, "", ""] for row in rows)])
    assert counts(run(path)[0]) == (8, 0, 0, 4)


def test_empty_and_undecodable_files_are_command_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="empty"):
        run(empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("PSTW ID,Name\nPSTW-1,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(CommandError, match="UTF-8"):
        run(latin)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Short enough.", "Short enough."),
        ("One sentence here. " + "Word " * 30, "One sentence here. …"),
        ("Not after e.g. this. " + "word " * 30, "Not after e.g. this. word word…"),
        ("a" * 10 + " " + "word " * 30, "a" * 10 + " word word word word…"),
    ],
)
def test_shorten_cuts_at_a_sentence_or_word_with_an_ellipsis(text, expected):
    assert shorten(text.strip(), 35) == expected


@pytest.mark.parametrize(
    ("code", "country", "expected"),
    [
        ("UKI31", "GB", ("UKI31", "TLI", "GB")),
        ("UKM", "GB", ("UKM", "TLM", "GB")),
        ("UK", "GB", ("", "", "GB")),  # country level: not stored
        ("ITC4C", "IT", ("ITC4C", "", "IT")),
        (" el30 ", "GR", ("EL30", "", "GR")),  # NUTS writes Greece EL
        ("GR", "GR", ("", "", "GR")),
        ("SRB", "RS", ("", "", "RS")),
        ("UE", "EU", ("", "", "EU")),
        ("ND", "NL", ("", "", "")),  # not defined
        ("DE300", "FR", ("", "", "DE")),  # not in the row's country: ignored, with a warning
        ("12345", "IT", ("", "", "")),  # not a code: ignored, with a warning
    ],
)
def test_nuts_codes(code, country, expected):
    warnings = []
    found = mapping.Mapper().map_nuts(code, country, lambda *w: warnings.append(w))
    assert found == expected
    assert bool(warnings) == (code in {"DE300", "12345"})


def test_source_column_patterns_from_the_real_file():
    found = mapping.Mapper().map_sources(
        "Survey 2021 (https://ai-watch.example/survey)\n"
        "https://digital-strategy.example/benchmark-2022, p.94\n"
        "Mail to AI Watch (15-5-2020)",
        lambda kind, message: None,
    )
    assert [(s.title, s.url) for s in found] == [
        ("Survey 2021", "https://ai-watch.example/survey"),
        ("digital-strategy.example (p.94)", "https://digital-strategy.example/benchmark-2022"),
        ("Mail to AI Watch (15-5-2020)", ""),
    ]


def test_a_list_of_bodies_too_long_for_a_name_is_led_by_the_first():
    warnings = []
    listed = "Public Prosecutor's Office, the National Police, " + "the Tax Authorities, " * 20
    data, shortened = mapping.Mapper().map_organisation(
        listed.strip(" ,"), "Central-government", "NL", lambda *w: warnings.append(w)
    )
    assert (data.name, data.kind, data.country, shortened) == (
        "Public Prosecutor's Office",
        "central-government",
        "NL",
        True,
    )
    assert warnings[0][0] == "organisation"


# ---- the real file --------------------------------------------------------------------------


def real_file():
    """The real case list: $PSTW_CSV, else ../shared/data/pstw/pstw_dataset.csv."""
    path = Path(
        os.environ.get("PSTW_CSV")
        or settings.BASE_DIR.parent / "shared" / "data" / "pstw" / "pstw_dataset.csv"
    )
    if not path.is_file():
        reason = f"The PSTW case list is not at {path}; set PSTW_CSV to its path."
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def test_real_file_imports_every_row_and_reimports_unchanged():
    path = real_file()
    with open(path, encoding="utf-8-sig", newline="") as file:
        data_rows = sum(1 for _ in csv.DictReader(file))

    first, output = run(path, verbosity=0)
    assert first.rows == data_rows
    assert first.created + first.updated + first.unchanged + len(first.rejected) == data_rows
    assert all(rejection.reason and rejection.line > 1 for rejection in first.rejected)
    assert Initiative.objects.filter(pstw_id__startswith="PSTW-").count() == (
        first.created + first.updated + first.unchanged
    )
    assert not Initiative.objects.exclude(status="draft").exists()
    assert SUMMARY_LINE.match(output.strip().splitlines()[-1])
    # Every record cites the dataset, is driven by technology and has a theme.
    assert not Initiative.objects.exclude(sources__url=DOI).exists()
    assert not Initiative.objects.exclude(drivers__slug="technology").exists()
    assert not Initiative.objects.filter(themes=None).exists()
    assert Revision.objects.count() == first.created + first.updated

    second, _ = run(path, verbosity=0)
    assert (second.created, second.updated) == (0, 0)
    assert second.unchanged == first.created + first.updated + first.unchanged
    assert len(second.rejected) == len(first.rejected)
