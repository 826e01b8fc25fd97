"""The read-only JSON API, /api/v1/: the initiative list's results and pages equal the
public list's, bad parameters are named, writing is refused, and query counts are constant."""

import pytest
from django.core.cache import caches
from django.db import connection

from catalogue.models import Initiative
from tests.api_support import (
    API,
    HTML_LIST,
    LIST,
    TAXONOMY_PATHS,
    get,
    slugs,
    twice_measured_catalogue,
)
from tests.factories import (
    InitiativeFactory,
    varied_initiatives,
)
from tests.readers import result_slugs

pytestmark = pytest.mark.django_db

# -- the same results as the public list -----------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "theme=cloud",
        "theme=cloud&theme=open-data&driver=crisis",
        "sector=health&stage=pilot&stage=scaled",
        "country=gb&kind=local-authority",
        "country=EE&country=FR&outcome=service-quality",
        "year_from=2012&year_to=2016&sort=start_year",
        "barrier=funding&barrier=skills-gap&sort=-start_year",
        "q=housing",
        "q=housing+or+chatbot&sort=title",
        "q=%22housing+data%22+-transport",
        "q=housing&sort=-published&theme=cloud&theme=skills",
        "sort=-updated",
        "sort=relevance",
        "theme=&q=&year_from=",
        "unknown=ignored&theme=digital-services",
    ],
)
def test_results_and_order_equal_the_public_list(client, settings, query):
    varied_initiatives()
    settings.CATALOGUE_PAGE_SIZE = 5
    first = get(client, f"{LIST}?{query}")
    html = client.get(f"{HTML_LIST}?{query}")
    assert html.status_code == 200
    assert first["count"] == html.context["total"]
    pages = max(1, -(-first["count"] // 5))
    for number in range(1, pages + 1):
        api_page = get(client, f"{LIST}?{query}&page={number}")
        html_page = client.get(f"{HTML_LIST}?{query}&page={number}")
        assert html_page.context["problems"] == []
        expected = result_slugs(html_page)
        assert slugs(api_page) == expected, f"page {number}"


def test_pages_link_to_each_other_keeping_the_query(client, settings):
    varied_initiatives(12)
    settings.CATALOGUE_PAGE_SIZE = 5
    query = {"stage": ["pilot", "scaled"], "sort": "title"}
    body = get(client, LIST, query)
    seen = slugs(body)
    while body["next"]:
        assert "stage=pilot&stage=scaled" in body["next"] and "sort=title" in body["next"]
        body = get(client, body["next"])
        seen += slugs(body)
    assert len(seen) == len(set(seen)) == body["count"]
    assert body["previous"].startswith("http://testserver/api/v1/initiatives/?")


def test_an_empty_result_is_an_empty_first_page(client):
    body = get(client, LIST, {"theme": "cloud", "page": "1"})
    coverage = body.pop("coverage")
    assert body == {"count": 0, "next": None, "previous": None, "results": []}
    assert coverage["driver"] == {"label": "Driver", "recorded": 0, "of": 0}


# -- bad parameters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("year_from=abc", "year_from", "Enter a whole number."),
        ("year_to=99999", "year_to", "Ensure this value is less than or equal to 2100."),
        ("year_from=1066", "year_from", "Ensure this value is greater than or equal to 1950."),
        ("theme=no-such-theme", "theme", "There is no theme called “no-such-theme”."),
        ("theme=cloud&theme=nope", "theme", "There is no theme called “nope”."),
        ("sector=nowhere", "sector", "There is no sector called “nowhere”."),
        ("country=ZZ", "country", "There is no country called “ZZ”."),
        ("stage=rumoured", "stage", "There is no stage called “rumoured”."),
        ("kind=cabal", "kind", "There is no type of lead organisation called “cabal”."),
        ("sort=sideways", "sort", "Select a valid choice. sideways is not one of"),
        ("q=" + "x" * 201, "q", "Ensure this value has at most 200 characters"),
        ("q=%00", "q", "Null characters are not allowed."),
        ("year_to=2020&year_to=2021", "year_to", "Give this parameter once"),
        ("sort=title&sort=-title", "sort", "Give this parameter once"),
        ("page=abc", "page", "Enter a whole number, 1 or more."),
        ("page=0", "page", "Enter a whole number, 1 or more."),
        ("page=-1", "page", "Enter a whole number, 1 or more."),
        ("page=1e9", "page", "Enter a whole number, 1 or more."),
        ("page=last", "page", "Enter a whole number, 1 or more."),
        ("page=1&page=2", "page", "Give this parameter once"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, query, param, message):
    InitiativeFactory()
    body = get(client, f"{LIST}?{query}", status=400)
    assert body["detail"] == "Some parameters could not be used: see errors."
    assert list(body["errors"]) == [param]
    assert body["errors"][param][0].startswith(message), body
    # The public list still forgives the same query.
    assert client.get(f"{HTML_LIST}?{query}").status_code == 200


def test_every_bad_parameter_is_named_at_once(client):
    body = get(client, f"{LIST}?year_from=abc&theme=nope&theme=worse&stage=x&q=ok", status=400)
    assert body["errors"] == {
        "theme": ["There is no theme called “nope”.", "There is no theme called “worse”."],
        "stage": ["There is no stage called “x”."],
        "year_from": ["Enter a whole number."],
    }


def test_a_page_past_the_last_is_404_naming_the_page(client):
    InitiativeFactory()
    body = get(client, LIST, {"page": "2"}, status=404)
    assert body == {
        "detail": "There is no such page.",
        "errors": {"page": ["There is no page 2; the last is 1."]},
    }
    get(client, f"{API}organisations/", {"page": "99999999999999999999"}, status=404)


def test_good_values_in_any_case_and_blank_values_are_accepted_as_on_the_list(client):
    InitiativeFactory(countries=["EE"])
    assert get(client, LIST, {"country": "ee", "q": "  ", "page": ""})["count"] == 1


def test_unknown_parameters_and_formats_are_ignored(client):
    InitiativeFactory()
    assert get(client, LIST, {"colour": "blue"})["count"] == 1
    assert get(client, LIST, {"format": "xml"})["count"] == 1
    response = client.get(LIST, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_unknown_paths_under_the_api_are_json_404s(client):
    for path in ("no-such-thing/", "initiatives/not.a.slug/", "initiatives/a/b/"):
        assert get(client, API + path, status=404) == {"detail": "Not found."}
    # Without the trailing slash: the usual redirect to it first.
    assert client.get(f"{API}initiatives").status_code == 301


# -- read-only -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writing_is_405(client, method):
    initiative = InitiativeFactory()
    for url in (LIST, f"{LIST}{initiative.slug}/", f"{API}themes/", f"{API}organisations/"):
        response = getattr(client, method)(url, data={}, content_type="application/json")
        assert response.status_code == 405, url
        assert response["Allow"] == "GET, HEAD, OPTIONS"
        assert response.json() == {
            "detail": f'Method "{method.upper()}" not allowed.',
            "request_id": response["X-Request-ID"],
        }
    assert Initiative.objects.count() == 1


def test_head_and_options_are_allowed(client):
    initiative = InitiativeFactory()
    assert client.head(LIST).status_code == 200
    assert client.head(f"{LIST}{initiative.slug}/").status_code == 200
    assert client.options(LIST).status_code == 200


# -- efficiency ------------------------------------------------------------------------

# The total comes with the facet counts: on PostgreSQL the catalogue version that keys them
# is the query, the counts coming from the facet index or the cache.
LIST_QUERIES = ["the facet counts and total", "the page's initiatives, lead and sector"]
LIST_QUERIES += ["their themes", "their places"]
DETAIL_QUERIES = ["the initiative with lead organisation and sector", "drivers", "themes"]
DETAIL_QUERIES += ["outcomes", "barriers", "places", "partnerships with organisations"]
DETAIL_QUERIES += ["metrics", "sources", "the sources' quotes", "related initiatives"]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"theme": ["cloud", "open-data"], "driver": "crisis", "q": "initiative"},
        {
            "theme": "cloud",
            "outcome": "cost-savings",
            "barrier": "funding",
            "sector": "general-public-services",
            "stage": ["implemented", "pilot"],
            "country": ["GB", "EE"],
            "kind": "local-authority",
            "year_from": "2010",
            "year_to": "2030",
            "sort": "title",
        },
    ],
    ids=["unfiltered", "facets-and-search", "every-filter"],
)
@pytest.mark.parametrize("page_size", [5, 30])
def test_list_query_count_is_constant(
    client, settings, django_assert_num_queries, query, page_size
):
    settings.CATALOGUE_PAGE_SIZE = page_size
    twice_measured_catalogue(30)
    get(client, LIST, query)
    # A vocabulary filter reads the vocabularies once (on SQLite one query, on PostgreSQL
    # their cached copy under the catalogue version).
    vocabularies = any(name in query for name in ("theme", "driver", "outcome", "barrier"))
    extra = vocabularies if connection.vendor == "sqlite" else 0
    # A search by relevance on PostgreSQL: the search's matching ids (the facet index's
    # filter; outside a test's transaction kept per catalogue version, so one query fewer)
    # and the page's ids in order from the narrow copies (catalogue/search.py), then its rows.
    ranked = "q" in query and "sort" not in query and connection.vendor == "postgresql"
    # The rows, serialized, are cached per catalogue version (PostgreSQL): forgotten here,
    # so the page reads them again.
    caches["summaries"].clear()
    with django_assert_num_queries(len(LIST_QUERIES) + extra + 2 * ranked):
        body = get(client, LIST, query)
    assert body["count"] == 30
    assert len(body["results"]) == page_size
    if connection.vendor == "postgresql":
        # Asked again, the rows come from that cache: the rows and their prefetches unread.
        with django_assert_num_queries(len(LIST_QUERIES) + extra + 2 * ranked - 3):
            again = get(client, LIST, query)
        assert again == body


def test_detail_query_count(client, django_assert_num_queries):
    twice_measured_catalogue(3)
    initiative = Initiative.objects.first()
    with django_assert_num_queries(len(DETAIL_QUERIES)):
        body = get(client, f"{LIST}{initiative.slug}/")
    assert len(body["partners"]) == 2 and len(body["metrics"]) == 2
    assert len(body["related"]) == 2


def test_organisation_and_taxonomy_query_counts(client, django_assert_num_queries):
    twice_measured_catalogue(10)
    organisation = Initiative.objects.first().lead_organisation
    with django_assert_num_queries(2):  # the count; the page
        assert get(client, f"{API}organisations/")["count"] == 30
    with django_assert_num_queries(3):  # the organisation; what it led; its partnerships
        get(client, f"{API}organisations/{organisation.slug}/")
    for path in TAXONOMY_PATHS:
        with django_assert_num_queries(1):  # the terms with their counts
            slug = get(client, path)[0]["slug"]
        with django_assert_num_queries(1):
            get(client, f"{path}{slug}/")


def test_list_rows_are_never_stale(client):
    # Rows are cached per catalogue version (PostgreSQL): an edit to the record, or to the
    # organisation that leads it, shows on the next request, and an archived one is gone.
    first = InitiativeFactory(title="First title")
    InitiativeFactory(title="Second")
    assert "First title" in [row["title"] for row in get(client, LIST)["results"]]
    first.title = "Edited title"
    first.save()
    assert "Edited title" in [row["title"] for row in get(client, LIST)["results"]]
    lead = first.lead_organisation
    lead.name = "Renamed council"
    lead.save()
    rows = {row["slug"]: row for row in get(client, LIST)["results"]}
    assert rows[first.slug]["lead_organisation"]["name"] == "Renamed council"
    first.status = "archived"
    first.save()
    assert first.slug not in slugs(get(client, LIST))
