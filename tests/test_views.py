import pytest
from django.db import connection

from catalogue.models import Initiative
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
    tagged_catalogue,
)
from tests.readers import result_slugs

pytestmark = pytest.mark.django_db

LIST = "/initiatives/"


def test_home_shows_search_themes_and_latest(client):
    initiative = InitiativeFactory(themes=["open-data"])
    DraftFactory(title="Secret draft")
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert 'name="q"' in html
    assert "/initiatives/?theme=open-data" in html
    assert initiative.title in html
    assert "Secret draft" not in html


def test_list_shows_published_only_with_the_count(client):
    published = InitiativeFactory(title="Visible case study")
    for status in ("draft", "in-review", "archived"):
        DraftFactory(title=f"Hidden {status}", status=status)
    response = client.get(LIST)
    assert response.status_code == 200
    assert published.title in response.text
    assert "Hidden" not in response.text
    assert "1 case study" in response.text


def test_list_filters_and_marks_the_chosen_options(client):
    cloud = InitiativeFactory(themes=["cloud"], title="Cloud move")
    InitiativeFactory(themes=["skills"], title="Skills academy")
    response = client.get(LIST, {"theme": "cloud"})
    assert result_slugs(response) == [cloud.slug]
    assert 'value="cloud" checked' in response.text
    assert "Remove filter: " in response.text


def test_draft_detail_is_404_and_published_detail_shows_every_part(client):
    draft = DraftFactory()
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get("/initiatives/no-such-thing/").status_code == 404

    metric = MetricFactory(label="Administrative costs")
    initiative = metric.initiative
    initiative.challenge = "Paper **forms** everywhere."
    initiative.lessons = "Start small. <script>alert(1)</script>"
    initiative.save()
    partner = PartnershipFactory(initiative=initiative, role="technology-supplier")
    response = client.get(initiative.get_absolute_url())
    assert response.status_code == 200
    html = response.text
    for text in (
        initiative.title,
        initiative.summary,
        initiative.lead_organisation.name,
        partner.organisation.name,
        "Technology supplier",
        "Administrative costs",
        "25% decrease",
        "<strong>forms</strong>",
        initiative.sources.get().title,
        f"/initiatives/?theme={initiative.themes.get().slug}",
    ):
        assert text in html, text
    assert "<script>alert(1)" not in html


def test_organisation_page_lists_led_and_partnered_published_initiatives(client):
    organisation = OrganisationFactory(name="Anytown Council")
    led = InitiativeFactory(lead_organisation=organisation, title="Led one")
    partnered = PartnershipFactory(organisation=organisation, role="funder").initiative
    DraftFactory(lead_organisation=organisation, title="Draft one")
    response = client.get(organisation.get_absolute_url())
    assert response.status_code == 200
    assert led.title in response.text
    assert partnered.title in response.text
    assert "Draft one" not in response.text


def test_organisation_known_only_through_drafts_is_not_public(client):
    draft = DraftFactory()
    assert client.get(draft.lead_organisation.get_absolute_url()).status_code == 404


def test_pagination_links_keep_the_filters(client, settings):
    tagged_catalogue(25)
    response = client.get(LIST, {"theme": "cloud", "year_from": "2010"})
    assert len(result_slugs(response)) == 20
    assert "?theme=cloud&amp;year_from=2010&amp;page=2" in response.text
    page2 = client.get(LIST, {"theme": "cloud", "year_from": "2010", "page": "2"})
    assert len(result_slugs(page2)) == 5
    assert "?theme=cloud&amp;year_from=2010&amp;page=1" in page2.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"theme": "no-such-theme"}, "There is no theme called “no-such-theme”"),
        ({"year_from": "abc"}, "“abc” was ignored"),
        ({"page": "99"}, "There is no page “99”, so page 1 of 1 is shown."),
        ({"page": "abc"}, "There is no page “abc”"),
        ({"year_to": ["2020", "2021"]}, "given 2 times"),
        ({"sort": "nonsense"}, "“nonsense” was ignored"),
    ],
)
def test_bad_input_answers_200_with_a_plain_message(client, query, message):
    InitiativeFactory(start_year=2015)
    response = client.get(LIST, query)
    assert response.status_code == 200
    assert message in response.text
    assert len(result_slugs(response)) == 1


@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "q=" + "x" * 5000,
        "theme=%F0%9F%92%A9",
        "page=-1",
        "page=1e9",
        "year_from=99999999999999999999",
        "country=ZZ&country=",
        "sort=title&sort=-title",
        "q=' OR 1=1 --&theme={{7*7}}",
    ],
)
def test_hostile_queries_never_500(client, query):
    InitiativeFactory()
    assert client.get(f"{LIST}?{query}").status_code == 200


# SQLite, which has no catalogue version to key a cache by:
SQLITE_LIST_QUERIES = [
    "the vocabularies, once per request",
    "facet counts and the total, in one statement",
    # Its counts are by id, and there are too many organisations to cache like terms.
    "the names of the organisations the organisation facet shows",
    "the ids of the page's initiatives",
    "those initiatives with their lead organisations",
    "their places",
]
# PostgreSQL, once this query has been seen in this state of the catalogue: counts, filter
# panel and results are all cached under the catalogue version.
POSTGRES_LIST_QUERIES = ["the catalogue version"]
# PostgreSQL, after any write (a new version): version, the vocabularies, counts,
# organisation names, the page's ids, its rows, their places.
POSTGRES_FRESH_LIST_QUERIES = 7
LIST_QUERIES = SQLITE_LIST_QUERIES if connection.vendor == "sqlite" else POSTGRES_LIST_QUERIES


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"theme": "cloud"},
        {"theme": ["cloud", "open-data"], "driver": "crisis", "q": "initiative"},
        {
            "theme": ["cloud", "open-data", "skills"],
            "driver": ["crisis", "technology"],
            "outcome": "cost-savings",
            "barrier": "funding",
            "sector": "general-public-services",
            "stage": ["implemented", "pilot"],
            "country": ["GB", "EE"],
            "kind": "local-authority",
            "year_from": "2010",
            "year_to": "2030",
            "q": "initiative",
            "sort": "title",
            "page": "1",
        },
    ],
    ids=["unfiltered", "one-facet", "three-facets-and-search", "every-filter"],
)
def test_list_query_count_is_constant(client, django_assert_num_queries, query):
    tagged_catalogue(5)
    client.get(LIST, query)
    with django_assert_num_queries(len(LIST_QUERIES)):
        response = client.get(LIST, query)
    assert response.context["total"] == 5
    tagged_catalogue(20)
    client.get(LIST, {**query, "page": "2"})  # new data: new counts
    with django_assert_num_queries(len(LIST_QUERIES)):
        response = client.get(LIST, {**query, "page": "2"})
    assert response.context["total"] == 25


@pytest.mark.parametrize("page_size", [5, 30])
def test_list_query_count_does_not_grow_with_page_size(
    client, settings, django_assert_num_queries, page_size
):
    settings.CATALOGUE_PAGE_SIZE = page_size
    tagged_catalogue(30)
    client.get(LIST)
    with django_assert_num_queries(len(LIST_QUERIES)):
        response = client.get(LIST)
    assert response.text.count('<li class="app-result">') == page_size


@pytest.mark.skipif(connection.vendor != "postgresql", reason="counts are cached on PostgreSQL")
def test_facet_counts_are_cached_until_the_catalogue_changes(
    client, django_assert_num_queries, settings
):
    # As production's first request after a write: the facet index is rebuilt in the
    # background meanwhile (tests/test_facet_index.py), this request counts with SQL.
    settings.CATALOGUE_FACET_INDEX = "off"
    tagged_catalogue(3)
    client.get(LIST)
    with django_assert_num_queries(len(LIST_QUERIES)):
        assert client.get(LIST).context["total"] == 3
    newest = InitiativeFactory(title="Just published")
    with django_assert_num_queries(POSTGRES_FRESH_LIST_QUERIES):
        response = client.get(LIST)
    assert response.context["total"] == 4
    assert result_slugs(response)[0] == newest.slug


def test_list_never_shows_a_stale_page(client):
    first = InitiativeFactory(title="First title")
    InitiativeFactory(title="Second")
    client.get(LIST)
    first.title = "Edited title"
    first.save()
    assert "Edited title" in client.get(LIST).text
    first.status = "archived"
    first.save()
    response = client.get(LIST)
    assert "Edited title" not in response.text
    assert response.context["total"] == 1


DETAIL_QUERIES = [
    "the initiative with lead organisation and sector",
    "drivers",
    "themes",
    "outcomes",
    "barriers",
    "places",
    "partnerships with organisations",
    "metrics with the quotes they cite",
    "sources",
    "the sources' quotes",
    "related initiatives",
]


def test_detail_query_count(client, django_assert_num_queries):
    initiative = tagged_catalogue(3)[0]
    on_postgres = connection.vendor == "postgresql"
    # PostgreSQL also reads the catalogue version, which keys the cached page body.
    with django_assert_num_queries(len(DETAIL_QUERIES) + on_postgres):
        response = client.get(initiative.get_absolute_url())
    assert len(response.context["related"]) == 2
    if on_postgres:
        with django_assert_num_queries(1):
            assert client.get(initiative.get_absolute_url()).status_code == 200


def test_detail_page_is_never_stale(client):
    initiative = InitiativeFactory(title="Before")
    client.get(initiative.get_absolute_url())
    initiative.title = "After"
    initiative.save()
    assert "After" in client.get(initiative.get_absolute_url()).text
    partner = PartnershipFactory(initiative=initiative).organisation
    partner.name = "Renamed Partner Ltd"
    partner.save()
    assert "Renamed Partner Ltd" in client.get(initiative.get_absolute_url()).text
    initiative.status = "archived"
    initiative.save()
    assert client.get(initiative.get_absolute_url()).status_code == 404


def test_home_query_count(client, django_assert_num_queries):
    tagged_catalogue(8)
    # 1 themes with counts, 2 total with how many are measured and quoted, 3 the latest
    # initiatives' ids, 4 their cards, 5 their places;
    # PostgreSQL first reads the catalogue version that keys the cached counts.
    on_postgres = connection.vendor == "postgresql"
    with django_assert_num_queries(5 + on_postgres):
        client.get("/")
    if on_postgres:
        # The counts now come from the cache, until the catalogue changes.
        with django_assert_num_queries(4):
            assert client.get("/").context["total"] == 8
        InitiativeFactory(themes=["cloud"])
        response = client.get("/")
        assert response.context["total"] == 9
        assert "cloud" in {theme.slug for theme in response.context["themes"]}


def test_published_queryset_is_what_the_list_uses():
    InitiativeFactory()
    DraftFactory()
    assert Initiative.objects.published().count() == 1


def test_benchmark_ceiling_is_off_by_default(client):
    assert client.get("/bench/ceiling/").status_code == 404


def test_the_list_links_its_exports_feed_insights_and_api_with_the_same_filters(client):
    InitiativeFactory(themes=["cloud"])
    response = client.get("/initiatives/", {"theme": "cloud", "sort": "title", "page": "1"})
    text = response.text
    assert 'href="/initiatives/export.csv?theme=cloud&amp;sort=title"' in text
    assert 'href="/initiatives/export.json?theme=cloud&amp;sort=title"' in text
    assert 'href="/api/v1/initiatives/?theme=cloud&amp;sort=title"' in text
    assert 'href="/feeds/initiatives.atom?theme=cloud"' in text
    assert 'href="/insights/?theme=cloud"' in text
    assert 'type="application/atom+xml"' in text
    unfiltered = client.get("/initiatives/").text
    assert 'href="/initiatives/export.csv"' in unfiltered


@pytest.mark.parametrize(
    "path, heading",
    [
        ("/accessibility/", "Accessibility statement for Public Sector Innovation Case Studies"),
        ("/privacy/", "Privacy and cookies"),
        ("/data-licence/", "Data licence"),
    ],
)
def test_the_footer_pages_answer_and_every_page_links_them(client, path, heading, settings):
    settings.CATALOGUE_CONTACT_EMAIL = "help@example.gov.uk"
    response = client.get(path)
    assert response.status_code == 200
    assert f'<h1 class="govuk-heading-xl">{heading}</h1>' in response.text
    assert "mailto:help@example.gov.uk" in response.text
    home = client.get("/").text
    assert f'<a class="govuk-footer__link" href="{path}">' in home
    assert client.post(path).status_code == 405


def test_the_accessibility_statement_says_what_the_regulations_ask(client):
    text = client.get("/accessibility/").text
    for required in [
        "How accessible this website is",
        "Feedback and contact information",
        "Enforcement procedure",
        "Equality and Human Rights Commission (EHRC)",
        "Equality Commission for Northern Ireland (ECNI)",
        "Compliance status",
        "Non-accessible content",
        "Preparation of this accessibility statement",
        "axe-core",
        "Nu HTML Checker",
    ]:
        assert required in text, required


def test_every_page_has_a_phase_banner_with_a_feedback_link(client, settings):
    settings.CATALOGUE_CONTACT_EMAIL = "help@example.gov.uk"
    for path in ["/", "/initiatives/", "/organisations/", "/no-such-page/"]:
        text = client.get(path).text
        assert 'class="govuk-phase-banner"' in text, path
        assert 'href="mailto:help@example.gov.uk?subject=Feedback%20on%20' in text, path
