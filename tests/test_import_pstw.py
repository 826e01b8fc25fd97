"""import_pstw: the EU Public Sector Tech Watch case list becomes draft initiatives.

tests/data/pstw_sample.csv is a small hand-made extract with the real file's header and every
kind of mess the real file has. The last tests import the real file when it is there.
"""

import csv
import os
import re
from io import StringIO
from pathlib import Path

import hypothesis
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DataError, IntegrityError, transaction
from django.db.models import QuerySet
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from reversion.models import Revision, Version

from catalogue.importing.pstw import mapping
from catalogue.importing.pstw.reading import shorten
from catalogue.importing.pstw.tables import VALUE_LENGTH
from catalogue.importing.pstw.writing import Importer
from catalogue.management.commands import import_pstw
from catalogue.models import Initiative, Organisation, Outcome, Place, Source, Theme
from tests.factories import SourceFactory, term

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).parent / "data" / "pstw_sample.csv"
ATTRIBUTION = "EU Public Sector Tech Watch, case {} (CC BY 4.0)"
DOI = "https://doi.org/10.2905/JRC.J1MWC9R"
JRC = "European Commission, Joint Research Centre"
CITED = "via EU Public Sector Tech Watch"
SUMMARY_LINE = re.compile(
    r"^Imported (?P<name>\S+): (?P<created>[\d,]+) created, (?P<updated>[\d,]+) updated, "
    r"(?P<unchanged>[\d,]+) unchanged, (?P<rejected>[\d,]+) rejected \((?P<rows>[\d,]+) rows\) "
    r"in \d+\.\d s(; [\d,]+ published)?\.$"
)


def run(path=SAMPLE, *args, **options):
    """Run the command; (its result, what it printed)."""
    command = import_pstw.Command()
    out = StringIO()
    call_command(command, str(path), *args, stdout=out, **options)
    return command.result, out.getvalue()


def counts(result):
    return result.created, result.updated, result.unchanged, len(result.rejected)


def sample_rows():
    with open(SAMPLE, encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def edited_sample(tmp_path, pstw_id, **changes):
    """A copy of the sample with some columns of one row changed."""
    header, *rows = sample_rows()
    columns = {name.strip(): index for index, name in enumerate(header)}
    for row in rows:
        if row[0] == pstw_id:
            for name, value in changes.items():
                row[columns[name]] = value
    path = tmp_path / "edited.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([header, *rows])
    return path


def record(pstw_id):
    return Initiative.objects.get(pstw_id=pstw_id)


def slugs(manager):
    return sorted(manager.values_list("slug", flat=True))


def sources(initiative):
    return sorted(
        (s.title, s.url, s.publisher, s.published_on and s.published_on.isoformat())
        for s in initiative.sources.all()
    )


@pytest.fixture
def imported():
    return run()


# ---- the sample: exactly what is created ----------------------------------------------------


def test_sample_creates_eight_drafts_and_rejects_four(imported):
    result, output = imported
    assert counts(result) == (8, 0, 0, 4)
    assert result.rows == 12
    assert sorted(Initiative.objects.values_list("pstw_id", flat=True)) == [
        "PSTW-9101",
        "PSTW-9102",
        "PSTW-9103",
        "PSTW-9105",
        "PSTW-9106",
        "PSTW-9108",
        "PSTW-9109",
        "PSTW-9110",  # written "pstw-9110"
    ]
    assert set(Initiative.objects.values_list("status", flat=True)) == {"draft"}
    assert SUMMARY_LINE.match(output.strip().splitlines()[-1]).group("name") == "pstw_sample.csv"


def test_rejected_rows_are_listed_with_line_id_and_reason(imported):
    result, output = imported
    # Lines are those of the CSV file: a quoted value with line breaks spans several.
    assert [(r.line, r.pstw_id, r.reason) for r in result.rejected] == [
        (7, "PSTW-9104", "no name"),
        (8, "PSTW-9101", "duplicate PSTW ID (first on line 2)"),
        (11, "PSTW-9107", "no responsible organisation"),
        (12, "", "no PSTW ID"),
    ]
    assert "Rejected rows (4):" in output
    assert "  line 8, PSTW-9101: duplicate PSTW ID (first on line 2)" in output
    assert "  line 12, no PSTW ID: no PSTW ID" in output
    # The duplicate did not overwrite the first row with that ID.
    assert record("PSTW-9101").title == "Smart parking pilot"


def test_messy_values_are_normalised(imported):
    parking = record("PSTW-9101")
    assert parking.title == "Smart parking pilot"  # spaces and a no-break space collapsed
    assert parking.slug == "smart-parking-pilot"
    assert parking.stage == "pilot"  # "Pilot "
    assert (parking.start_year, parking.end_year) == (2021, None)  # end year "\xa0"
    assert parking.sector.slug == "economic-affairs"  # "Economic Affairs"
    assert parking.collaboration_type == "consortium"
    assert parking.funding == "eu"
    assert parking.website == "https://www.comune.milano.it/parking"
    assert slugs(parking.drivers) == ["technology"]
    assert slugs(parking.themes) == ["ai-automation", "digital-twins", "emerging-tech"]
    # "x", "X" and " x" set a flag; "\xa0" and " " do not.
    assert slugs(parking.outcomes) == ["collaboration", "cost-savings", "service-quality"]
    assert Outcome.objects.get(slug="collaboration").name == "Collaboration and communication"

    milan = parking.lead_organisation
    assert (milan.name, milan.kind, milan.country.code) == (
        "Comune di Milano",
        "local-authority",
        "IT",
    )
    # "  comune   di MILANO " on another row is the same body.
    assert record("PSTW-9105").lead_organisation == milan

    assert [(p.country.code, p.region) for p in parking.places.all()] == [("IT", "")]
    assert parking.nuts_code == "ITC4C"  # narrower than a country: kept


def test_long_description_gives_a_cut_summary_and_the_whole_approach(imported):
    parking = record("PSTW-9101")
    assert len(parking.summary) <= 600
    assert parking.summary.endswith("hour by hour. …")  # cut after a sentence
    assert "\n" not in parking.summary
    assert parking.approach.startswith("Milan tested sensors")
    # The line break became a Markdown paragraph break; nothing was lost.
    assert "in the city app.\n\nThe pilot ran" in parking.approach
    assert parking.approach.endswith("A second phase is planned.")


def test_uk_nuts_code_gives_the_itl1_region(imported):
    london = record("PSTW-9102")
    assert [(p.country.code, p.region) for p in london.places.all()] == [("GB", "TLI")]
    assert london.nuts_code == "UKI31"
    assert london.lead_organisation.kind == "regional-government"
    assert (london.start_year, london.end_year, london.stage) == (2019, 2022, "implemented")
    assert slugs(london.themes) == ["blockchain", "emerging-tech"]
    assert slugs(london.outcomes) == ["participation"]


def test_eu_coverage_gives_the_eu_place_and_a_countryless_body(imported):
    eu = record("PSTW-9103")
    assert [(p.country.code, p.region) for p in eu.places.all()] == [("EU", "")]
    assert eu.nuts_code == ""  # "UE": the EU, so country level
    commission = eu.lead_organisation
    assert (commission.kind, commission.country.code) == ("international-body", "")
    assert eu.stage == "idea"  # "Planned"
    assert slugs(eu.themes) == ["emerging-tech", "quantum-computing"]  # and "Other"
    assert not eu.outcomes.exists()  # no impact flags


def test_other_countries_and_codes(imported):
    places = {
        pstw_id: [(p.country.code, p.region) for p in record(pstw_id).places.all()]
        for pstw_id in ("PSTW-9106", "PSTW-9108", "PSTW-9109")
    }
    assert places == {
        "PSTW-9106": [("TR", "")],
        "PSTW-9108": [("MC", "")],
        "PSTW-9109": [("AL", "")],
    }
    assert record("PSTW-9106").nuts_code == "TR100"
    assert record("PSTW-9108").nuts_code == ""  # MC: country level
    assert record("PSTW-9109").nuts_code == ""  # ALB: Albania, country level
    assert record("PSTW-9105").nuts_code == ""  # IT: country level


def test_unknown_category_and_other_categories(imported):
    kinds = {o.name: o.kind for o in Organisation.objects.all()}
    assert kinds == {
        "Comune di Milano": "local-authority",
        "Greater London Authority": "regional-government",
        "European Commission": "international-body",
        "Ankara Metropolitan Municipality": "other",  # "Quango": the fallback
        "Friends of the Museum": "non-profit",
        "National Agency for Information Society": "central-government",
        "Town of Somewhere": "other",  # no category: the fallback
    }


def test_values_nobody_planned_for_are_left_blank(imported):
    hologram = record("PSTW-9110")
    assert [(p.country.code, p.region) for p in hologram.places.all()] == [("DE", "")]
    assert hologram.nuts_code == "DE300"  # and the unknown country was taken from it
    assert hologram.stage == ""  # "Paused" is no stage of ours: not stated
    assert (hologram.sector, hologram.collaboration_type, hologram.funding) == (None, "", "")
    assert slugs(hologram.themes) == ["emerging-tech"]  # "Holograms"
    assert slugs(hologram.outcomes) == ["cost-savings"]  # "maybe" is not a flag
    assert hologram.sources.get(url=DOI).published_on.isoformat() == "2024-11-05"  # ISO date


def test_bad_years_are_left_blank(imported):
    assert (record("PSTW-9105").start_year, record("PSTW-9105").end_year) == (None, 2023)
    assert (record("PSTW-9106").start_year, record("PSTW-9106").end_year) == (2022, None)
    assert record("PSTW-9108").start_year is None  # 1890


def test_sources_attribution_links_and_text(imported):
    assert sources(record("PSTW-9101")) == sorted(
        [
            (ATTRIBUTION.format("PSTW-9101"), DOI, JRC, "2024-10-04"),
            ("Smart parking report", "https://example.org/parking-report.pdf", CITED, None),
            ("IPSO DB", "", CITED, None),
        ]
    )
    # Several URLs in the website: the first is the website, the whole value kept as text.
    assert record("PSTW-9102").website == "https://a.example/one"
    assert sources(record("PSTW-9102")) == sorted(
        [
            (ATTRIBUTION.format("PSTW-9102"), DOI, JRC, "2025-12-31"),
            ("Website as listed: https://a.example/one https://b.example/two", "", CITED, None),
            (
                "Survey Use and impact of AI in the public sector. 2021",
                "https://example.com/survey",
                CITED,
                None,
            ),
        ]
    )
    # Not a URL: no website, kept as text. A bad date leaves the attribution undated.
    assert record("PSTW-9103").website == ""
    assert sources(record("PSTW-9103")) == sorted(
        [
            (ATTRIBUTION.format("PSTW-9103"), DOI, JRC, None),
            ("Website as listed: www.example.eu", "", CITED, None),
        ]
    )
    assert record("PSTW-9105").website == ""
    assert ("Website as listed: https:/broken.example/tour", "", CITED, None) in sources(
        record("PSTW-9105")
    )
    # One source per URL; the URL the export broke in two is kept as text, not as a link.
    assert sources(record("PSTW-9109")) == sorted(
        [
            (ATTRIBUTION.format("PSTW-9109"), DOI, JRC, "2024-10-10"),
            ("news.example", "https://news.example/chatbot", CITED, None),
            ("second.example", "https://second.example/a", CITED, None),
            ("third.example", "https://third.example/b", CITED, None),
            ("https://blog.example/Proof of Concept-chatbot", "", CITED, None),
        ]
    )


def test_every_record_cites_the_dataset():
    run()
    for initiative in Initiative.objects.all():
        attribution = initiative.sources.get(url=DOI)
        assert attribution.title == ATTRIBUTION.format(initiative.pstw_id)
        assert attribution.publisher == JRC


def test_warnings_name_the_row_and_what_was_done(imported):
    result, output = imported
    warnings = {(w.line, w.pstw_id, w.kind) for w in result.warnings}
    assert warnings == {
        (5, "PSTW-9102", "website"),
        (6, "PSTW-9103", "website"),
        (6, "PSTW-9103", "date"),
        (9, "PSTW-9105", "website"),
        (9, "PSTW-9105", "year"),
        (10, "PSTW-9106", "category"),
        (10, "PSTW-9106", "year"),
        (13, "PSTW-9108", "description"),
        (13, "PSTW-9108", "year"),
        (14, "PSTW-9109", "source"),
        (17, "PSTW-9110", "country"),
        (17, "PSTW-9110", "category"),
        (17, "PSTW-9110", "status"),
        (17, "PSTW-9110", "collaboration"),
        (17, "PSTW-9110", "funding"),
        (17, "PSTW-9110", "sector"),
        (17, "PSTW-9110", "technology"),
        (17, "PSTW-9110", "flag"),
    }
    assert "line 10, PSTW-9106: year: end year 2020 is before start year 2022; left blank" in output


def test_many_warnings_are_counted_by_kind_unless_verbose(monkeypatch):
    monkeypatch.setattr(import_pstw, "LIST_WARNINGS_UP_TO", 3)
    _, output = run(dry_run=True)
    assert "  year: 3 (e.g. line 9, PSTW-9105: year: start year '20x1'" in output
    assert "Run with -v 2 to list them all." in output
    _, output = run(dry_run=True, verbosity=2)
    assert "line 13, PSTW-9108: year: start year 1890 is not between 1950 and 2100" in output


# ---- re-import --------------------------------------------------------------------------


def test_second_run_changes_nothing(imported):
    before = Revision.objects.count(), Source.objects.count(), Organisation.objects.count()
    result, output = run()
    assert counts(result) == (0, 0, 8, 4)
    assert (Revision.objects.count(), Source.objects.count(), Organisation.objects.count()) == (
        before
    )
    assert "0 created, 0 updated, 8 unchanged, 4 rejected (12 rows)" in output


def test_changed_row_updates_its_record_only(imported, tmp_path):
    london = record("PSTW-9102")
    attribution = london.sources.get(url=DOI)
    path = edited_sample(tmp_path, "PSTW-9102", Name="Blockchain land register for London")
    result, _ = run(path)
    assert counts(result) == (0, 1, 7, 4)
    london.refresh_from_db()
    assert london.title == "Blockchain land register for London"
    assert london.slug == "blockchain-land-register"  # a permalink never changes
    assert london.sources.get(url=DOI) == attribution  # unchanged sources are kept as they are


def test_reimport_keeps_status_and_what_editors_added(imported, tmp_path):
    london = record("PSTW-9102")
    london.status = Initiative.Status.PUBLISHED
    london.save()
    london.themes.add(term(Theme, "open-data"))
    london.outcomes.add(term(Outcome, "economic-growth"))
    hand_source = SourceFactory(initiative=london, title="Interview with the GLA")

    path = edited_sample(
        tmp_path, "PSTW-9102", Source="New evaluation https://example.com/evaluation"
    )
    result, _ = run(path)
    assert counts(result) == (0, 1, 7, 4)
    london.refresh_from_db()
    assert london.status == "published"
    assert slugs(london.themes) == ["blockchain", "emerging-tech", "open-data"]
    assert slugs(london.outcomes) == ["economic-growth", "participation"]
    titles = set(london.sources.values_list("title", flat=True))
    assert hand_source.title in titles
    assert "New evaluation" in titles  # the importer's own source replaced...
    assert "Survey Use and impact of AI in the public sector. 2021" not in titles  # ...this one

    # And the tags and sources an editor added make no difference to a further run.
    result, _ = run(path)
    assert counts(result) == (0, 0, 8, 4)


# ---- dry run, publishing, history -----------------------------------------------------------


def test_dry_run_writes_nothing():
    tables = (Initiative, Organisation, Source, Theme, Outcome, Place, Revision, Version)
    before = [model.objects.count() for model in tables]
    result, output = run(dry_run=True, publish=True)
    assert [model.objects.count() for model in tables] == before
    assert counts(result) == (8, 0, 0, 4)
    assert "line 11, PSTW-9107: no responsible organisation" in output
    assert (
        output.strip()
        .splitlines()[-1]
        .startswith(
            "Dry run of pstw_sample.csv: would create 8, update 0, leave 0 unchanged and reject 4 "
            "(12 rows) in "
        )
    )
    assert output.strip().endswith("; would publish 6; nothing was written.")


def test_publish_publishes_only_complete_records():
    result, output = run(publish=True)
    published = set(Initiative.objects.published().values_list("pstw_id", flat=True))
    assert published == {
        "PSTW-9101",
        "PSTW-9102",
        "PSTW-9105",
        "PSTW-9106",
        "PSTW-9109",
        "PSTW-9110",
    }
    assert all(i.published_at for i in Initiative.objects.published())
    assert result.published == 6
    assert record("PSTW-9103").status == "draft"  # no outcome
    assert record("PSTW-9108").status == "draft"  # no summary
    assert "6 published; 2 left as drafts:" in output
    assert "  1: Choose at least one outcome before publishing." in output
    assert "  1: Write a summary before publishing." in output
    assert output.strip().endswith("; 6 published.")


def test_publish_on_reimport_publishes_drafts_and_leaves_other_statuses(imported):
    withdrawn = record("PSTW-9109")
    withdrawn.status = Initiative.Status.ARCHIVED
    withdrawn.save()
    result, _ = run(publish=True)
    assert counts(result) == (0, 0, 8, 4)
    assert result.published == 5
    assert record("PSTW-9109").status == "archived"
    assert record("PSTW-9101").status == "published"
    comments = Version.objects.get_for_object(record("PSTW-9101")).values_list(
        "revision__comment", flat=True
    )
    assert list(comments) == [
        "Published by the EU Public Sector Tech Watch import (PSTW-9101)",
        "Imported from EU Public Sector Tech Watch (PSTW-9101)",
    ]


def test_one_revision_per_record(imported):
    assert Revision.objects.count() == 8
    for initiative in Initiative.objects.all():
        versions = Version.objects.get_for_object(initiative)
        assert versions.count() == 1
        revision = versions.get().revision
        assert (
            revision.comment == f"Imported from EU Public Sector Tech Watch ({initiative.pstw_id})"
        )
        # The revision holds this record, its tags and its sources, and no other record.
        own = revision.version_set.get(content_type__model="initiative")
        assert own.object_id == str(initiative.pk)
        assert sorted(own.field_dict["themes"]) == sorted(
            initiative.themes.values_list("pk", flat=True)
        )
        assert revision.version_set.filter(content_type__model="source").count() == (
            initiative.sources.count()
        )


def test_reverting_one_record_leaves_the_others(imported, tmp_path):
    run(edited_sample(tmp_path, "PSTW-9102", Name="Renamed"))
    assert record("PSTW-9102").title == "Renamed"
    versions = Version.objects.get_for_object(record("PSTW-9102"))
    assert versions[0].revision.comment == "Updated from EU Public Sector Tech Watch (PSTW-9102)"
    versions[1].revision.revert()
    assert record("PSTW-9102").title == "Blockchain land register"
    assert record("PSTW-9101").title == "Smart parking pilot"


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
