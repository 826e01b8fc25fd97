"""The read-only JSON API, /api/v1/: every endpoint shows what the public pages show,
and only what is published."""

import pytest

from catalogue.models import Initiative, Place
from tests.api_support import (
    API,
    LIST,
    TAXONOMIES,
    get,
)
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
    SourceFactory,
    term,
    varied_initiatives,
)

pytestmark = pytest.mark.django_db

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


def test_references_shared_by_rows_are_each_their_own(client):
    # A theme, sector, place or organisation is drawn once per response and reused by every
    # row that refers to it: each row still shows its own.
    first = InitiativeFactory(themes=["cloud", "skills"], countries=["GB"])
    second = InitiativeFactory(themes=["cloud"], countries=["FR"])
    rows = {row["slug"]: row for row in get(client, LIST)["results"]}
    assert len(rows) == 2
    for initiative in (first, second):
        row = rows[initiative.slug]
        assert sorted(t["slug"] for t in row["themes"]) == sorted(
            initiative.themes.values_list("slug", flat=True)
        )
        assert row["lead_organisation"]["slug"] == initiative.lead_organisation.slug
        assert [p["country"] for p in row["places"]] == [
            str(p.country) for p in initiative.places.all()
        ]
    cloud = [t for row in rows.values() for t in row["themes"] if t["slug"] == "cloud"]
    assert len(cloud) == 2 and cloud[0] == cloud[1]
    assert cloud[0]["initiatives_url"].endswith("?theme=cloud")
