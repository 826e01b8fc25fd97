"""The read-only JSON API, /api/v1/."""

import re
from collections import Counter

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from catalogue.models import Initiative, Organisation, Partnership, Place, Theme
from catalogue.vocabularies import BY_PARAM
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
    SourceFactory,
    tagged_catalogue,
    term,
    varied_initiatives,
)

pytestmark = pytest.mark.django_db

TAXONOMIES = {param: v.model for param, v in BY_PARAM.items()}

API = "/api/v1/"
LIST = "/api/v1/initiatives/"
HTML_LIST = "/initiatives/"
TAXONOMY_PATHS = [f"{API}{param}s/" for param in TAXONOMIES]


def get(client, url, data=None, status=200):
    response = client.get(url, data)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    if status >= 400:
        # Every error names its request, as the X-Request-ID header does (catalogue/errors.py).
        assert body.pop("request_id") == response["X-Request-ID"]
    return body


def slugs(body):
    return [item["slug"] for item in body["results"]]


# -- every endpoint -------------------------------------------------------------------


def test_root_links_every_endpoint(client):
    body = get(client, API)
    assert set(body) == {
        "initiatives",
        "organisations",
        "themes",
        "drivers",
        "outcomes",
        "barriers",
        "sectors",
        "schema",
        "docs",
    }
    assert body["themes"] == "http://testserver/api/v1/themes/"


def test_initiative_list_shows_what_the_public_list_shows(client):
    initiative = InitiativeFactory(themes=["cloud"], countries=["GB"], start_year=2019)
    body = get(client, LIST)
    assert body["count"] == 1
    assert body["next"] is body["previous"] is None
    (item,) = body["results"]
    assert item["slug"] == initiative.slug
    assert item["title"] == initiative.title
    assert item["summary"] == initiative.summary
    assert item["lead_organisation"]["name"] == initiative.lead_organisation.name
    assert item["lead_organisation"]["kind"] == "local-authority"
    assert item["sector"]["slug"] == "general-public-services"
    assert [theme["slug"] for theme in item["themes"]] == ["cloud"]
    assert item["themes"][0]["html_url"] == "http://testserver/initiatives/?theme=cloud"
    assert item["themes"][0]["api_url"] == "http://testserver/api/v1/themes/cloud/"
    assert item["places"][0]["country"] == "GB"
    assert item["places"][0]["api_url"] == "http://testserver/api/v1/initiatives/?country=GB"
    assert item["years"] == "2019 onwards"
    assert item["html_url"] == f"http://testserver/initiatives/{initiative.slug}/"
    assert item["api_url"] == f"http://testserver/api/v1/initiatives/{initiative.slug}/"
    assert "challenge" not in item, "the list leaves the narrative to the detail"


def test_initiative_detail_shows_everything_the_public_page_shows(client):
    metric = MetricFactory(label="Administrative costs", baseline="2019 costs", period="1 year")
    initiative = metric.initiative
    initiative.challenge = "Paper **forms** everywhere."
    initiative.lessons = "Start small."
    initiative.innovation_type = "mission"
    initiative.collaboration_type = "govtech"
    initiative.funding = "eu"
    initiative.evidence_level = 3
    initiative.website = "https://example.org/project"
    initiative.end_year = 2022
    initiative.save()
    initiative.barriers.set([term(TAXONOMIES["barrier"], "funding")])
    initiative.places.add(Place.objects.get_or_create(country="GB", region="TLM")[0])
    partner = PartnershipFactory(
        initiative=initiative, role="technology-supplier", description="Built the app"
    )
    related = InitiativeFactory(themes=[initiative.themes.get().slug])

    body = get(client, f"{LIST}{initiative.slug}/")
    assert body["title"] == initiative.title
    assert body["challenge"] == "Paper **forms** everywhere.", "Markdown, as stored"
    assert body["lessons"] == "Start small."
    assert body["lead_organisation"]["slug"] == initiative.lead_organisation.slug
    assert body["partners"] == [
        {
            "organisation": {
                "slug": partner.organisation.slug,
                "name": partner.organisation.name,
                "unnamed": False,
                "kind": "local-authority",
                "kind_label": "Local authority",
                "html_url": f"http://testserver/organisations/{partner.organisation.slug}/",
                "api_url": f"http://testserver/api/v1/organisations/{partner.organisation.slug}/",
            },
            "role": "technology-supplier",
            "role_label": "Technology supplier",
            "description": "Built the app",
        }
    ]
    metric = initiative.metrics.get()
    assert body["metrics"] == [
        {
            "source": metric.source.title if metric.source else None,
            "quote": {"text": metric.quote.text, "locator": metric.quote.locator}
            if metric.quote
            else None,
            "label": "Administrative costs",
            "value": "25.00",
            "unit": "%",
            "direction": "decrease",
            "direction_label": "Decrease",
            "display_value": "25% decrease",
            "baseline": "2019 costs",
            "period": "1 year",
        }
    ]
    source = initiative.sources.get()
    assert body["sources"] == [
        {
            "title": source.title,
            "author": "",
            "publisher": "Example Publisher",
            "url": "https://example.org/article",
            "published_on": None,
            "accessed_on": None,
            "quotes": [{"text": q.text, "locator": q.locator} for q in source.quotes.all()],
        }
    ]
    for field in ("drivers", "themes", "outcomes", "barriers"):
        expected = [t.slug for t in getattr(initiative, field).all()]
        assert [t["slug"] for t in body[field]] == expected, field
    assert body["barriers"][0]["slug"] == "funding"
    assert body["places"][0]["name"] == "Scotland, United Kingdom"
    assert body["places"][0]["region"] == "TLM"
    assert body["years"] == "2020 to 2022"
    assert body["innovation_type_label"] == "Mission-oriented"
    assert body["evidence_level"] == 3
    assert body["evidence_level_label"] == "3: causal impact shown"
    assert body["collaboration_type_label"] == "GovTech"
    assert body["funding_label"] == "EU funding"
    assert body["website"] == "https://example.org/project"
    assert body["published_at"] and body["updated_at"]
    assert [r["slug"] for r in body["related"]] == [related.slug]
    for internal in ("status", "created_by", "updated_by", "created_at", "search_vector", "id"):
        assert internal not in body


def test_stored_script_links_are_never_given(client):
    initiative = InitiativeFactory(website="javascript:alert(1)", source=False)
    SourceFactory(initiative=initiative, url="javascript:alert(2)")
    organisation = initiative.lead_organisation
    organisation.website = "data:text/html,<script>alert(3)</script>"
    organisation.save()
    body = get(client, f"{LIST}{initiative.slug}/")
    assert body["website"] is None
    assert body["sources"][0]["url"] is None
    assert get(client, f"{API}organisations/{organisation.slug}/")["website"] is None


def test_organisation_list_and_detail(client):
    organisation = OrganisationFactory(name="Anytown Council", website="https://anytown.example")
    led = InitiativeFactory(lead_organisation=organisation, title="Led one")
    partnered = PartnershipFactory(organisation=organisation, role="funder").initiative
    DraftFactory(lead_organisation=organisation, title="Draft one")

    body = get(client, f"{API}organisations/")
    names = [item["name"] for item in body["results"]]
    assert names == sorted(names)
    assert organisation.name in names
    body = get(client, f"{API}organisations/{organisation.slug}/")
    assert body["name"] == "Anytown Council"
    assert body["website"] == "https://anytown.example"
    assert body["html_url"] == f"http://testserver/organisations/{organisation.slug}/"
    assert [i["slug"] for i in body["led"]] == [led.slug]
    assert [(p["initiative"]["slug"], p["role"]) for p in body["partnerships"]] == [
        (partnered.slug, "funder")
    ]


@pytest.mark.parametrize("param", list(TAXONOMIES))
def test_each_taxonomy_lists_every_term_with_published_counts(client, param):
    model = TAXONOMIES[param]
    slug = model.objects.order_by("name").first().slug
    field = "sector" if param == "sector" else f"{param}s"
    value = term(model, slug) if param == "sector" else [slug]
    InitiativeFactory(**{field: value})
    InitiativeFactory(**{field: value})
    DraftFactory(**{field: value})

    body = get(client, f"{API}{param}s/")
    assert [item["slug"] for item in body] == list(
        model.objects.order_by("name").values_list("slug", flat=True)
    )
    counts = {item["slug"]: item["initiative_count"] for item in body}
    assert counts[slug] == 2, "drafts are not counted"
    detail = get(client, f"{API}{param}s/{slug}/")
    assert detail["initiative_count"] == 2
    assert detail["html_url"] == f"http://testserver/initiatives/?{param}={slug}"
    assert detail["initiatives_url"] == f"http://testserver/api/v1/initiatives/?{param}={slug}"
    if param == "sector":
        assert detail["cofog_code"] == model.objects.get(slug=slug).cofog_code
    assert len(get(client, detail["initiatives_url"])["results"]) == 2
    get(client, f"{API}{param}s/no-such-term/", status=404)


def test_every_link_given_leads_somewhere(client):
    initiative = PartnershipFactory().initiative
    body = get(client, f"{LIST}{initiative.slug}/")
    links = [body["html_url"], body["api_url"]]
    links += [body["lead_organisation"][key] for key in ("html_url", "api_url")]
    links += [body["partners"][0]["organisation"][key] for key in ("html_url", "api_url")]
    for field in ("themes", "drivers", "outcomes"):
        links += [body[field][0][key] for key in ("html_url", "api_url", "initiatives_url")]
    for link in links:
        assert client.get(link).status_code == 200, link


# -- only what is published ------------------------------------------------------------


def test_unpublished_initiatives_are_invisible(client):
    varied_initiatives(3)
    hidden = Initiative.objects.exclude(status="published")
    assert hidden.count() == 3
    body = get(client, LIST, {"q": "hidden"})
    assert body["count"] == 0
    assert get(client, LIST)["count"] == 3
    for initiative in hidden:
        body = get(client, f"{LIST}{initiative.slug}/", status=404)
        assert body == {"detail": "No Initiative matches the given query."}


def test_unpublished_initiatives_leave_no_trace_through_organisations(client):
    draft = DraftFactory(title="Secret draft")
    PartnershipFactory(initiative=draft, role="funder")
    public = PartnershipFactory(role="funder")
    PartnershipFactory(initiative=draft, organisation=public.organisation, role="commissioner")
    body = get(client, f"{API}organisations/")
    assert {item["slug"] for item in body["results"]} == {
        public.initiative.lead_organisation.slug,
        public.organisation.slug,
    }
    get(client, f"{API}organisations/{draft.lead_organisation.slug}/", status=404)
    detail = get(client, f"{API}organisations/{public.organisation.slug}/")
    assert [p["initiative"]["slug"] for p in detail["partnerships"]] == [public.initiative.slug]


def test_related_initiatives_are_published_only(client):
    initiative = InitiativeFactory(themes=["cloud"])
    DraftFactory(themes=["cloud"])
    assert get(client, f"{LIST}{initiative.slug}/")["related"] == []


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
        expected = [initiative.slug for initiative in html_page.context["initiatives"]]
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


def twice_measured_catalogue(count):
    """The list tests' tagged catalogue, with a second metric each: what N+1 feeds on."""
    for initiative in tagged_catalogue(count):
        MetricFactory(initiative=initiative, label="Time saved")


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
    with django_assert_num_queries(len(LIST_QUERIES) + extra):
        body = get(client, LIST, query)
    assert body["count"] == 30
    assert len(body["results"]) == page_size


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


# -- the schema and its docs -------------------------------------------------------------


def load_schema(client):
    return get_schema_response(client).json()


def get_schema_response(client):
    response = client.get(f"{API}schema/", {"format": "json"})
    assert response.status_code == 200
    return response


def parameters(schema, path):
    return {p["name"]: p for p in schema["paths"][path]["get"].get("parameters", [])}


def test_schema_is_valid_openapi_3(client):
    InitiativeFactory()
    schema = load_schema(client)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # drf-spectacular's OpenAPI 3 JSON Schema check
    assert client.get(f"{API}schema/").status_code == 200  # YAML by default
    assert set(schema["paths"]) == {
        LIST,
        LIST + "{slug}/",
        f"{API}organisations/",
        f"{API}organisations/{{slug}}/",
        *TAXONOMY_PATHS,
        *(f"{path}{{slug}}/" for path in TAXONOMY_PATHS),
    }
    for operations in schema["paths"].values():
        assert set(operations) == {"get"}, "read-only"


def test_schema_documents_every_filter_with_its_values(client):
    PartnershipFactory(initiative=InitiativeFactory())  # two public organisations
    DraftFactory()  # and one that is not
    schema = load_schema(client)
    params = parameters(schema, LIST)
    filter_names = {"q", "theme", "driver", "outcome", "barrier", "sector", "stage"}
    filter_names |= {"country", "kind", "year_from", "year_to", "sort", "page"}
    filter_names |= {"organisation", "role", "evidence", "innovation_type", "measured"}
    assert set(params) == filter_names
    for param, model in TAXONOMIES.items():
        schema_of = params[param]["schema"]
        assert schema_of["type"] == "array"
        assert schema_of["items"]["enum"] == list(
            model.objects.order_by("name").values_list("slug", flat=True)
        ), param
        assert params[param]["explode"] is True
    assert params["stage"]["schema"]["items"]["enum"] == Initiative.Stage.values
    assert "GB" in params["country"]["schema"]["items"]["enum"]
    assert "EU" in params["country"]["schema"]["items"]["enum"]
    assert "local-authority" in params["kind"]["schema"]["items"]["enum"]
    assert sorted(params["organisation"]["schema"]["items"]["enum"]) == sorted(
        Organisation.objects.public().values_list("slug", flat=True)
    )
    assert params["role"]["schema"]["items"]["enum"] == ["lead", *Partnership.Role.values]
    assert params["evidence"]["schema"]["items"]["enum"] == ["1", "2", "3", "4", "5"]
    assert params["innovation_type"]["schema"]["items"]["enum"] == (
        Initiative.InnovationType.values
    )
    assert params["measured"]["schema"]["items"]["enum"] == ["yes", "no"]
    assert params["year_to"]["schema"] == {"type": "integer", "minimum": 1950, "maximum": 2100}
    assert params["sort"]["schema"]["enum"] == [
        "relevance",
        "-published",
        "-updated",
        "title",
        "-start_year",
        "start_year",
    ]
    assert params["year_from"]["schema"] == {"type": "integer", "minimum": 1950, "maximum": 2100}
    assert params["q"]["schema"] == {"type": "string", "maxLength": 200, "pattern": r"^[^\u0000]*$"}
    assert all(param["allowEmptyValue"] for param in params.values()), "blank is ignored"
    assert params["page"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": django_settings.CATALOGUE_MAX_PAGE,
    }
    responses = schema["paths"][LIST]["get"]["responses"]
    assert set(responses) == {"200", "400", "404"}
    assert set(parameters(schema, f"{API}organisations/")) == {"page"}


def test_schema_enums_follow_the_vocabularies(client):
    Theme.objects.create(name="Quantum", slug="quantum")
    enum = parameters(load_schema(client), LIST)["theme"]["schema"]["items"]["enum"]
    assert "quantum" in enum


def test_docs_page_runs_under_the_strict_csp_from_our_own_static_files(client):
    response = client.get(f"{API}docs/")
    assert response.status_code == 200
    html = response.text
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "style-src 'self';" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 3
    for attributes, body in scripts:
        assert body.strip() == "", "no inline script"
        assert f'nonce="{nonce}"' in attributes
        source = re.search(r'src="([^"]+)"', attributes).group(1)
        assert source.startswith(("/static/", f"{API}docs/?"))
    assert "<style" not in html
    assert "style=" not in html
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert stylesheets and all(href.startswith("/static/") for href in stylesheets)
    assert "//" not in " ".join(re.findall(r'(?:src|href)="([^"]+)"', html)), "no CDN"
    for path in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(path), path
    script = client.get(f"{API}docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert '"/api/v1/schema/"' in script.text


# -- property-based: schemathesis over the schema -------------------------------------
#
# schemathesis's pytest integration (schema.parametrize, from_fixture) does not run under
# the pinned pytest 9.2 (it sets Function._nodeid, which pytest no longer has), so each
# operation's cases are drawn with operation.as_strategy() under plain Hypothesis, inside
# one test that has the database. Every request goes through the whole WSGI stack.

# Examples per operation and generation mode; bounded so the run stays well under 30 s.
MAX_EXAMPLES = 50
STRICT = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run and database: failures reproduce
    database=None,  # nothing to replay: derandomized runs draw the same cases anyway
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


@pytest.fixture
def wsgi_app(db):
    """The project's WSGI application, keeping the test's database connection.

    Django closes "old" connections when each request starts and finishes; Django's test
    client switches that off, a bare WSGI call does not, and on PostgreSQL the test's
    transaction would be closed with the connection.
    """
    from catalogue.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app):
    """The served schema, loaded through the WSGI app, over a catalogue worth exploring."""
    varied_initiatives(8)
    twice_measured_catalogue(2)
    return schemathesis.openapi.from_wsgi(f"{API}schema/?format=json", wsgi_app)


def strategies(operation):
    """Positive and negative cases; detail operations also get slugs that exist, so their
    200 responses are checked, not only 404s."""
    yield "positive", operation.as_strategy(GenerationMode.POSITIVE)
    yield "negative", operation.as_strategy(GenerationMode.NEGATIVE)
    if any(parameter.name == "page" for parameter in operation.query):
        # Generated page numbers are nearly all past the last page (404): also ask for
        # the first page, so the filters' 200 responses are checked as much.
        yield "first page", operation.as_strategy(query={"page": 1})
    if operation.path.endswith("{slug}/"):
        existing = list(operation_model(operation).values_list("slug", flat=True)[:20])
        yield (
            "existing",
            st.sampled_from(existing).flatmap(
                lambda slug: operation.as_strategy(path_parameters={"slug": slug})
            ),
        )


def operation_model(operation):
    resource = operation.path.removeprefix(API).split("/")[0]
    if resource == "initiatives":
        return Initiative.objects.published()
    if resource == "organisations":
        return Organisation.objects.public()
    return TAXONOMIES[resource.removesuffix("s")].objects.all()


def test_api_conforms_to_its_schema(api_schema, capsys):
    """No 5xx, and every response (status, content type, headers, body) as the schema says,
    for generated valid and invalid requests to every operation."""
    requests, statuses, failures = Counter(), Counter(), {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 14
    for operation in operations:
        for mode, strategy in strategies(operation):

            @STRICT
            @given(case=strategy)
            def check(case):
                response = case.call()
                requests[case.operation.label] += 1
                statuses[response.status_code] += 1
                case.validate_response(response)

            try:
                check()
            except Unsatisfiable:
                pass  # nothing invalid to send (an operation without parameters)
            except Exception as exc:
                failures[f"{operation.label} ({mode})"] = exc
    with capsys.disabled():
        print(
            f"\nschemathesis: {sum(requests.values())} requests over {len(requests)} "
            f"operations on {connection.vendor} (statuses {dict(sorted(statuses.items()))}), "
            f"{len(failures)} failures"
        )
    assert not failures, "\n\n".join(f"{name}:\n{exc}" for name, exc in failures.items())
