"""Each filter added by issue 14 selects the same published records on the list, the CSV
and JSON exports, the Atom feed and the API; and a value none of them can use is named on
the list and refused by the API."""

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache

from catalogue.models import Partnership
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
)
from tests.readers import result_slugs

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def body(response):
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def on_the_list(client, query):
    slugs, page = [], 1
    while True:
        cache.clear()
        response = client.get("/initiatives/", {**query, "page": str(page)})
        assert response.status_code == 200
        assert response.context["problems"] == []
        slugs += result_slugs(response)
        if not response.context["page_obj"].has_next():
            return slugs
        page += 1


def everywhere(client, query):
    """{output: slugs} for one query string."""
    text = body(client.get("/initiatives/export.csv", query)).decode("utf-8-sig")
    in_csv = [row["slug"] for row in csv.DictReader(io.StringIO(text, newline=""))]
    document = json.loads(body(client.get("/initiatives/export.json", query)))
    in_api, url, params = [], "/api/v1/initiatives/", dict(query)
    while url:
        response = client.get(url, params)
        assert response.status_code == 200, response.json()
        page = response.json()
        in_api += [record["slug"] for record in page["results"]]
        url, params = page["next"], None
    feed = ET.fromstring(client.get("/feeds/initiatives.atom", query).content)
    in_feed = [
        entry.find(f"{ATOM}link").get("href").rstrip("/").rsplit("/", 1)[-1]
        for entry in feed.iter(f"{ATOM}entry")
    ]
    return {
        "list": on_the_list(client, query),
        "csv": in_csv,
        "json": [record["slug"] for record in document["initiatives"]],
        "api": in_api,
        "feed": sorted(in_feed),
    }


def assert_same_everywhere(client, query, expected):
    found = everywhere(client, query)
    found["feed"] = sorted(found["feed"])
    assert sorted(found["list"]) == sorted(expected), query
    for output in ("csv", "json", "api"):
        assert found[output] == found["list"], (output, query)
    assert found["feed"] == sorted(found["list"]), query


@pytest.fixture
def organisations(settings):
    settings.CATALOGUE_PAGE_SIZE = 2  # several pages, in the list and the API
    council = OrganisationFactory(slug="anytown-council", name="Anytown Council")
    university = OrganisationFactory(slug="anytown-university", name="Anytown University")
    led = [InitiativeFactory(slug=f"led-{n}", lead_organisation=council) for n in range(3)]
    funded = InitiativeFactory(slug="funded")
    PartnershipFactory(initiative=funded, organisation=council, role=Partnership.Role.FUNDER)
    delivered = InitiativeFactory(slug="delivered")
    PartnershipFactory(initiative=delivered, organisation=council)
    PartnershipFactory(initiative=delivered, organisation=university)
    PartnershipFactory(initiative=led[0], organisation=council, role="commissioner")
    DraftFactory(slug="draft", lead_organisation=council)
    InitiativeFactory(slug="elsewhere")
    return {"led": [i.slug for i in led], "funded": funded.slug, "delivered": delivered.slug}


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"organisation": "anytown-council"}, ["led-0", "led-1", "led-2", "funded", "delivered"]),
        ({"organisation": "anytown-council", "role": "lead"}, ["led-0", "led-1", "led-2"]),
        ({"organisation": "anytown-council", "role": "funder"}, ["funded"]),
        (
            {"organisation": "anytown-council", "role": ["funder", "commissioner"]},
            ["funded", "led-0"],
        ),
        ({"organisation": "anytown-university"}, ["delivered"]),
        (
            {"organisation": ["anytown-university", "anytown-council"], "role": "lead"},
            [
                "led-0",
                "led-1",
                "led-2",
            ],
        ),
        ({"role": "funder"}, ["funded"]),
    ],
)
def test_the_organisation_filter_gives_the_same_records_everywhere(
    client, organisations, query, expected
):
    assert_same_everywhere(client, query, expected)


def test_an_unknown_or_private_organisation_is_named_on_the_list_and_refused_by_the_api(
    client, organisations
):
    private = DraftFactory().lead_organisation  # known only through a draft
    for slug in ("no-such-body", private.slug):
        response = client.get("/initiatives/", {"organisation": [slug, "anytown-university"]})
        assert response.status_code == 200
        assert response.context["problems"] == [
            f"There is no organisation called “{slug}”, so it was ignored."
        ]
        assert result_slugs(response) == ["delivered"]
        assert private.name not in response.text
        api = client.get("/api/v1/initiatives/", {"organisation": slug})
        assert api.status_code == 400
        assert api.json()["errors"] == {
            "organisation": [f"There is no organisation called “{slug}”."]
        }


def test_the_organisation_facet_counts_and_finds_organisations(client, organisations):
    response = client.get("/initiatives/", {"organisation": "anytown-university"})
    facet = next(f for f in response.context["facets"] if f["name"] == "organisation")
    counts = {option.value: (option.count, option.checked) for option in facet["options"]}
    # Disjunctive: ticking one organisation leaves the others' counts as they were.
    assert counts["anytown-council"] == (5, False)
    assert counts["anytown-university"] == (1, True)
    assert [role.value for role in facet["roles"]] == ["lead", *Partnership.Role.values]
    # The facet's own search, a plain GET field: finds by name, changes no result.
    found = client.get("/initiatives/", {"find_organisation": "univ"})
    facet = next(f for f in found.context["facets"] if f["name"] == "organisation")
    assert [option.value for option in facet["options"]] == ["anytown-university"]
    assert found.context["total"] == 6
    assert 'name="find_organisation" type="search" value="univ"' in found.text
    nothing = client.get("/initiatives/", {"find_organisation": "zzz"})
    assert "No organisation with “zzz” in its name has case studies here." in nothing.text


@pytest.fixture
def graded(settings):
    """Initiatives with evidence levels, innovation types, metrics and start years."""
    settings.CATALOGUE_PAGE_SIZE = 2
    rows = [
        ("a", 1, "enhancement", True, 2012),
        ("b", 2, "mission", False, 2015),
        ("c", 3, "adaptive", True, 2018),
        ("d", 3, "", False, 2020),
        ("e", 5, "anticipatory", True, None),
    ]
    for slug, level, kind, measured, year in rows:
        initiative = InitiativeFactory(
            slug=slug, evidence_level=level, innovation_type=kind, start_year=year
        )
        if measured:
            MetricFactory(initiative=initiative, label="Administrative costs", value=25)
    DraftFactory(slug="draft", evidence_level=3, innovation_type="adaptive", start_year=2018)


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"evidence": "3"}, ["c", "d"]),
        ({"evidence": ["1", "5"]}, ["a", "e"]),
        ({"innovation_type": ["mission", "adaptive"]}, ["b", "c"]),
        ({"measured": "yes"}, ["a", "c", "e"]),
        ({"measured": "no"}, ["b", "d"]),
        ({"measured": ["yes", "no"]}, ["a", "b", "c", "d", "e"]),
        ({"year_from": "2015", "year_to": "2018"}, ["b", "c"]),
        ({"year_from": "2016", "measured": "yes", "evidence": ["3", "5"]}, ["c"]),
    ],
)
def test_the_new_facets_give_the_same_records_everywhere(client, graded, query, expected):
    assert_same_everywhere(client, query, expected)


def test_the_new_facets_count_disjunctively(client, graded):
    response = client.get(
        "/initiatives/", {"evidence": "3", "measured": "yes", "year_from": "2016"}
    )
    assert response.context["total"] == 1  # c
    facets = {
        f["name"]: {o.value: o.count for o in f["options"]} for f in response.context["facets"]
    }
    # Each facet counts with the other filters only: evidence over measured, from 2016 (c).
    assert facets["evidence"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 0}
    # Measured over evidence 3, from 2016: c has metrics, d has none.
    assert facets["measured"] == {"yes": 1, "no": 1}
    assert facets["innovation_type"]["adaptive"] == 1
    # Start years over evidence 3 and measured, whatever the range: c only.
    assert '2018 <span class="app-facet__count">(1' in response.text
    assert "2012 <span" not in response.text


@pytest.mark.parametrize(
    "query, problem",
    [
        ({"evidence": "9"}, "There is no evidence level called “9”, so it was ignored."),
        (
            {"innovation_type": "magic"},
            "There is no innovation type called “magic”, so it was ignored.",
        ),
        ({"measured": "maybe"}, "There is no measured results called “maybe”, so it was ignored."),
    ],
)
def test_a_bad_value_of_a_new_facet_is_named_and_refused_by_the_api(client, graded, query, problem):
    response = client.get("/initiatives/", query)
    assert response.status_code == 200
    assert response.context["problems"] == [problem]
    assert response.context["total"] == 5
    assert client.get("/api/v1/initiatives/", query).status_code == 400


def test_result_cards_show_the_headline_metric(client, graded, settings):
    settings.CATALOGUE_PAGE_SIZE = 20
    response = client.get("/initiatives/", {"measured": "yes"})
    assert response.text.count("Administrative costs \u221225%") == 3
    assert "Headline result: " in response.text
    assert client.get("/initiatives/", {"measured": "no"}).text.count("app-result__metric") == 0


def test_a_bad_value_gets_the_error_summary_linking_to_its_field_marked_in_error(client, graded):
    response = client.get("/initiatives/", {"year_from": "abc", "theme": "nope", "page": "7"})
    html = response.text
    assert response.status_code == 200
    assert "<title>Error: Case studies" in html
    assert 'class="govuk-error-summary" data-module="govuk-error-summary"' in html
    assert '<a href="#year_from">Started from: “abc” was ignored.' in html
    assert '<a href="#facet-theme">There is no theme called “nope”, so it was ignored.</a>' in html
    # A problem with no field of its own is listed without a link.
    assert "<li>There is no page “7”, so page 3 of 3 is shown.</li>" in html
    # The fields: marked in error, their message tied to them.
    assert 'id="facet-theme" tabindex="-1"' in html
    assert 'class="govuk-form-group app-facet govuk-form-group--error" id="facet-theme"' in html
    assert 'aria-describedby="theme-error"' in html
    assert '<p class="govuk-error-message" id="theme-error">' in html
    assert 'aria-describedby="years-hint year_from-error"' in html
    assert 'class="govuk-input govuk-input--width-4 govuk-input--error" id="year_from"' in html
    assert "govuk-notification-banner" not in html
    # A good query shows none of it.
    clean = client.get("/initiatives/", {"year_from": "2015"}).text
    assert "govuk-error-summary" not in clean and "govuk-form-group--error" not in clean


def test_the_exports_carry_the_narrative_the_api_detail_has(client):
    initiative = InitiativeFactory(
        slug="told",
        challenge="Paper forms **everywhere**.",
        approach='=HYPERLINK("x") one online form',
        results="Costs fell by a quarter.",
        lessons="Start with the *users*; the first pilot failed.",
    )
    detail = client.get("/api/v1/initiatives/told/").json()
    text = body(client.get("/initiatives/export.csv")).decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text, newline="")))
    [record] = json.loads(body(client.get("/initiatives/export.json")))["initiatives"]
    for part in ("challenge", "approach", "results", "lessons"):
        assert record[part] == detail[part] == getattr(initiative, part)
        # The CSV is the same text, neutralised against formulas.
        assert row[part].removeprefix("'") == detail[part]
    assert row["approach"].startswith("'=")
