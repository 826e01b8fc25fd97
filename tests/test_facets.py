"""Facet counts are disjunctive: each option's count is the number of results the list
would give with that option chosen in its facet and every other filter left as it is."""

import random

import pytest
from django.http import QueryDict

from catalogue import facets
from catalogue.counts import FACET_SQL
from catalogue.filters import InitiativeFilter
from catalogue.models import Initiative, Organisation, Theme
from catalogue.vocabularies import BY_PARAM, terms
from tests.factories import (
    COUNTRIES,
    EVIDENCE,
    KINDS,
    MEASURED,
    STAGES,
    TYPES,
    YEARS,
    DraftFactory,
    InitiativeFactory,
    random_catalogue,
    random_query,
)
from tests.readers import result_slugs

pytestmark = pytest.mark.django_db


def brute_force(query):
    return InitiativeFilter(query, queryset=Initiative.objects.published()).qs.count()


def option_keys(name):
    if name in BY_PARAM:
        return {t.slug: str(t.id) for t in terms(name).values()}
    values = {
        "stage": STAGES,
        "country": COUNTRIES,
        "kind": KINDS,
        "evidence": EVIDENCE,
        "innovation_type": TYPES,
        "measured": MEASURED,
        "start_year": YEARS,
    }[name]
    return {value: value for value in values}


@pytest.mark.parametrize("seed", range(6))
def test_counts_equal_what_each_option_would_give(seed):
    rng = random.Random(seed)
    random_catalogue(rng)
    for _ in range(4):
        query = random_query(rng)
        filterset = InitiativeFilter(query, queryset=Initiative.objects.published())
        total, counts = facets.count(filterset)
        assert total == filterset.qs.count() == brute_force(query), query.urlencode()
        for name in FACET_SQL:
            for value, key in option_keys(name).items():
                alternative = query.copy()
                if name == "start_year":  # the range's counts: one year each
                    alternative.setlist("year_from", [value])
                    alternative.setlist("year_to", [value])
                else:
                    alternative.setlist(name, [value])
                expected = brute_force(alternative)
                assert counts[name].get(key, 0) == expected, (query.urlencode(), name, value)


def test_selected_options_with_no_results_stay_visible(client):
    InitiativeFactory(themes=["cloud"], countries=["GB"])
    response = client.get("/initiatives/", {"theme": "cloud", "country": "FR"})
    panel = {facet["name"]: facet for facet in response.context["facets"]}
    countries = {o.value: o for o in panel["country"]["options"]}
    assert (countries["FR"].count, countries["FR"].checked) == (0, True), "chosen, still shown"
    assert (countries["GB"].count, countries["GB"].checked) == (1, False)
    assert 'class="govuk-checkboxes__item app-facet__option--empty"' in response.text


def test_long_facets_put_the_rest_behind_show_all(client):
    InitiativeFactory(themes=["cloud"])
    response = client.get("/initiatives/", {"theme": "skills"})
    panel = {facet["name"]: facet for facet in response.context["facets"]}
    theme = panel["theme"]
    assert theme["top"] == facets.TOP_OPTIONS
    assert theme["options"][0].value == "skills", "the chosen option comes first"
    assert theme["options"][1].value == "cloud", "then the biggest"
    assert len(theme["options"]) == Theme.objects.count()
    assert "<details" in response.text and "Show all 12 options" in response.text


def test_renaming_a_term_reaches_the_list(client):
    InitiativeFactory(themes=["cloud"])
    assert "Cloud" in client.get("/initiatives/").text
    theme = Theme.objects.get(slug="cloud")
    theme.name = "Cloud hosting"
    theme.save()
    assert "Cloud hosting" in client.get("/initiatives/").text


def test_new_term_is_filterable_at_once(client):
    InitiativeFactory()
    client.get("/initiatives/")  # caches the terms
    new = Theme.objects.create(name="Quantum", slug="quantum")
    initiative = InitiativeFactory()
    initiative.themes.add(new)
    response = client.get("/initiatives/", {"theme": "quantum"})
    assert result_slugs(response) == [initiative.slug]
    assert response.context["problems"] == []


def test_publishing_changes_the_counts(client):
    InitiativeFactory(themes=["cloud"])
    draft = DraftFactory(themes=["cloud"])
    assert client.get("/initiatives/").context["total"] == 1
    draft.status = Initiative.Status.PUBLISHED
    draft.save()
    response = client.get("/initiatives/", {"theme": "skills"})
    panel = {facet["name"]: facet for facet in response.context["facets"]}
    cloud = next(o for o in panel["theme"]["options"] if o.value == "cloud")
    assert cloud.count == 2


def test_kind_facet_filters_by_lead_organisation_kind():
    nhs = InitiativeFactory(lead_organisation__kind=Organisation.Kind.NHS_BODY)
    InitiativeFactory()
    assert list(
        InitiativeFilter(QueryDict("kind=nhs-body"), queryset=Initiative.objects.all()).qs
    ) == [nhs]


def test_renaming_an_organisation_reaches_the_panel(client):
    initiative = InitiativeFactory(lead_organisation__name="Anytown Council")
    assert "Anytown Council" in client.get("/initiatives/").text
    organisation = initiative.lead_organisation
    organisation.name = "Anytown Borough Council"
    organisation.save()
    response = client.get("/initiatives/")
    panel = {facet["name"]: facet for facet in response.context["facets"]}
    assert [o.label for o in panel["organisation"]["options"]] == ["Anytown Borough Council"]
    assert "Anytown Borough Council" in response.text


def test_the_organisation_facet_as_drawn(client):
    initiative = InitiativeFactory(lead_organisation__name="Anytown <b>Council</b>")
    slug = initiative.lead_organisation.slug
    page = client.get("/initiatives/", {"organisation": slug, "role": "lead"}).text
    assert "Anytown &lt;b&gt;Council&lt;/b&gt;" in page and "<b>Council" not in page
    assert f'name="organisation" type="checkbox" value="{slug}" checked>' in page
    assert 'id="role-lead" name="role" type="checkbox" value="lead" checked>' in page
    assert "Organisation's role</legend>" in page
    # Every case study has a lead organisation: no coverage line, and none left blank.
    assert "Organisation: recorded for" not in page and "Theme: recorded for 1 of 1" in page

    found = client.get("/initiatives/", {"find_organisation": '"><script>x'}).text
    assert 'value="&quot;&gt;&lt;script&gt;x"' in found
    assert "No organisation with “&quot;&gt;&lt;script&gt;x” in its name" in found
    assert "<script>x" not in found


def test_a_facet_in_error_points_at_its_message(client):
    InitiativeFactory(themes=["cloud"])
    page = client.get("/initiatives/", {"theme": "no-such-theme"}).text
    assert 'class="govuk-form-group app-facet govuk-form-group--error" id="facet-theme"' in page
    assert '<fieldset class="govuk-fieldset" aria-describedby="theme-error">' in page
    assert '<p class="govuk-error-message" id="theme-error">' in page
