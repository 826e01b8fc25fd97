"""/organisations/ (every public organisation, with counts) and an organisation's page."""

import pytest

from catalogue import views
from catalogue.models import Organisation
from tests.factories import DraftFactory, InitiativeFactory, OrganisationFactory, PartnershipFactory

pytestmark = pytest.mark.django_db

INDEX = "/organisations/"


def rows(response):
    return [(o.name, o.led_count, o.partnered_count) for o in response.context["organisations"]]


def test_the_index_lists_public_organisations_with_published_counts(client):
    council = OrganisationFactory(name="Anytown Council")
    InitiativeFactory.create_batch(2, lead_organisation=council)
    DraftFactory(lead_organisation=council)
    partnered = InitiativeFactory(lead_organisation=OrganisationFactory(name="Bee Agency"))
    # Two roles in one initiative count it once.
    PartnershipFactory(initiative=partnered, organisation=council, role="funder")
    PartnershipFactory(initiative=partnered, organisation=council, role="commissioner")
    PartnershipFactory(initiative=DraftFactory(), organisation=council)
    DraftFactory(lead_organisation=OrganisationFactory(name="Hidden Draft Body"))

    response = client.get(INDEX)
    assert response.status_code == 200
    assert rows(response) == [("Anytown Council", 2, 1), ("Bee Agency", 1, 0)]
    assert "Hidden Draft Body" not in response.text
    assert f'href="/initiatives/?organisation={council.slug}&amp;role=lead"' in response.text
    assert "2 organisations" in response.text


def test_the_index_searches_by_name_kind_and_country(client):
    for name, kind, country in [
        ("Anytown Council", "local-authority", "GB"),
        ("Anytown University", "university", "GB"),
        ("Tallinn City", "local-authority", "EE"),
    ]:
        InitiativeFactory(
            lead_organisation=OrganisationFactory(name=name, kind=kind, country=country)
        )
    names = lambda query: [row[0] for row in rows(client.get(INDEX, query))]  # noqa: E731
    assert names({"q": "anytown"}) == ["Anytown Council", "Anytown University"]
    assert names({"kind": "local-authority"}) == ["Anytown Council", "Tallinn City"]
    assert names({"kind": ["local-authority", "university"], "country": "gb"}) == [
        "Anytown Council",
        "Anytown University",
    ]
    assert names({"q": "anytown", "kind": "university"}) == ["Anytown University"]


@pytest.mark.parametrize(
    "query, problem",
    [
        (
            {"kind": "castle"},
            "There is no kind of organisation called “castle”, so it was ignored.",
        ),
        ({"country": "ZZ"}, "No organisation here is in “ZZ”, so it was ignored."),
        ({"page": "99"}, "There is no page “99”, so page 1 of 1 is shown."),
        ({"q": "\x00"}, "The name searched for was too long or not text, so it was ignored."),
    ],
)
def test_the_index_ignores_what_it_cannot_use_and_says_so(client, query, problem):
    InitiativeFactory()
    response = client.get(INDEX, query)
    assert response.status_code == 200
    assert response.context["problems"] == [problem]
    assert len(response.context["organisations"]) == 1
    assert "govuk-notification-banner" in response.text


def test_the_index_is_paginated_and_its_queries_do_not_grow(
    client, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(views, "ORGANISATIONS_PAGE_SIZE", 3)
    for n in range(7):
        InitiativeFactory(lead_organisation=OrganisationFactory(name=f"Body {n}"))
    # The countries offered; the count; the page of organisations with both counts.
    with django_assert_num_queries(3):
        response = client.get(INDEX, {"page": "3", "kind": "local-authority"})
    assert rows(response) == [("Body 6", 1, 0)]
    assert 'href="?page=2&amp;kind=local-authority"' in response.text


def test_an_organisation_page_is_paginated_and_links_to_its_filtered_list(
    client, settings, django_assert_num_queries
):
    settings.CATALOGUE_PAGE_SIZE = 2
    council = OrganisationFactory(name="Anytown Council", slug="anytown-council")
    for n in range(3):
        InitiativeFactory(title=f"Led {n}", lead_organisation=council)
    PartnershipFactory(
        initiative=InitiativeFactory(title="Funded"), organisation=council, role="funder"
    )
    DraftFactory(title="Draft", lead_organisation=council)

    # The organisation; the counts; the page's initiatives; their themes, places and the
    # organisation's roles in them.
    with django_assert_num_queries(6):
        first = client.get(council.get_absolute_url())
    assert [i.title for i in first.context["initiatives"]] == ["Funded", "Led 0"]
    assert "4 published case studies: it led 3 and took part in 1." in first.text
    assert 'href="/initiatives/?organisation=anytown-council"' in first.text
    assert 'href="/initiatives/?organisation=anytown-council&amp;role=lead"' in first.text
    assert "funder" in first.text
    last = client.get(council.get_absolute_url(), {"page": "2"})
    assert [i.title for i in last.context["initiatives"]] == ["Led 1", "Led 2"]
    beyond = client.get(council.get_absolute_url(), {"page": "x"})
    assert beyond.status_code == 200
    assert beyond.context["problems"] == ["There is no page “x”, so page 1 of 2 is shown."]
    assert "Draft" not in first.text + last.text


def test_the_organisation_index_is_in_the_service_navigation(client):
    InitiativeFactory()
    response = client.get("/")
    assert 'href="/organisations/"' in response.text
    assert Organisation.objects.public().count() == 1
