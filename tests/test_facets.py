"""Facet counts are disjunctive: each option's count is the number of results the list
would give with that option chosen in its facet and every other filter left as it is."""

import random

import pytest
from django.http import QueryDict

from catalogue import facets
from catalogue.counts import FACET_SQL
from catalogue.filters import InitiativeFilter
from catalogue.models import Initiative, Organisation, Sector, Theme
from catalogue.vocabularies import BY_PARAM, terms
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    term,
)

pytestmark = pytest.mark.django_db

THEMES = ["cloud", "data-analytics", "open-data", "skills", "ai-automation"]
DRIVERS = ["technology", "crisis", "public-demand"]
OUTCOMES = ["cost-savings", "service-quality", "faster-services"]
BARRIERS = ["funding", "skills-gap"]
SECTORS = ["health", "education", "general-public-services"]
STAGES = ["pilot", "implemented", "scaled"]
COUNTRIES = ["GB", "EE", "FR"]
KINDS = ["local-authority", "central-government", "nhs-body"]
EVIDENCE = ["1", "2", "3", "4", "5"]
TYPES = ["enhancement", "mission", "adaptive", "anticipatory"]
MEASURED = ["yes", "no"]
YEARS = [str(year) for year in range(2010, 2025)]


def random_catalogue(rng, size=40):
    organisations = [OrganisationFactory(kind=kind) for kind in KINDS for _ in range(2)]
    for _ in range(size):
        initiative = InitiativeFactory(
            lead_organisation=rng.choice(organisations),
            themes=rng.sample(THEMES, rng.randint(1, 3)),
            drivers=rng.sample(DRIVERS, rng.randint(1, 2)),
            outcomes=rng.sample(OUTCOMES, rng.randint(1, 2)),
            barriers=rng.sample(BARRIERS, rng.randint(0, 2)),
            sector=term(Sector, rng.choice(SECTORS)),
            stage=rng.choice(STAGES),
            countries=rng.sample(COUNTRIES, rng.randint(1, 2)),
            start_year=rng.randint(2010, 2024),
            title=rng.choice(["Housing chatbot", "Data platform", "Skills academy"]),
            evidence_level=int(rng.choice(EVIDENCE)),
            innovation_type=rng.choice([*TYPES, ""]),
        )
        for _ in range(rng.choice([0, 0, 1, 2])):
            MetricFactory(initiative=initiative)
        if rng.random() < 0.1:
            initiative.start_year = None
            initiative.save()
    DraftFactory(themes=THEMES, drivers=DRIVERS)  # never counted


def random_query(rng):
    query = QueryDict(mutable=True)
    for name, values in [
        ("theme", THEMES),
        ("driver", DRIVERS),
        ("outcome", OUTCOMES),
        ("barrier", BARRIERS),
        ("sector", SECTORS),
        ("stage", STAGES),
        ("country", COUNTRIES),
        ("kind", KINDS),
        ("evidence", EVIDENCE),
        ("innovation_type", TYPES),
        ("measured", MEASURED),
    ]:
        if rng.random() < 0.35:
            query.setlist(name, rng.sample(values, rng.randint(1, 2)))
    if rng.random() < 0.3:
        query["year_from"] = str(rng.randint(2010, 2018))
    if rng.random() < 0.3:
        query["q"] = rng.choice(["housing", "data", "skills"])
    return query


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
    assert list(response.context["initiatives"]) == [initiative]
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
