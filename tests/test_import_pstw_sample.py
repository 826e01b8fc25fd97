"""import_pstw: the EU Public Sector Tech Watch case list becomes draft initiatives.

tests/data/pstw_sample.csv is a small hand-made extract with the real file's header and every
kind of mess the real file has: exactly what it creates, a re-import, a dry run, publishing
and the history.
"""

import pytest
from reversion.models import Revision, Version

from catalogue.management.commands import import_pstw
from catalogue.models import Initiative, Organisation, Outcome, Place, Source, Theme
from tests.factories import SourceFactory, term
from tests.pstw_support import (
    ATTRIBUTION,
    CITED,
    DOI,
    JRC,
    SUMMARY_LINE,
    counts,
    edited_sample,
    record,
    run,
    slugs,
    sources,
)

pytestmark = pytest.mark.django_db


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
