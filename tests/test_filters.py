import pytest
from django.http import QueryDict

from catalogue.filters import InitiativeFilter
from catalogue.models import Initiative, Sector, Theme
from tests.factories import InitiativeFactory, OrganisationFactory, term

pytestmark = pytest.mark.django_db


def run(query):
    filterset = InitiativeFilter(QueryDict(query), queryset=Initiative.objects.published())
    return filterset, set(filterset.qs)


@pytest.mark.parametrize(
    ("param", "field", "slug"),
    [
        ("theme", "themes", "open-data"),
        ("driver", "drivers", "crisis"),
        ("outcome", "outcomes", "cost-savings"),
        ("barrier", "barriers", "funding"),
    ],
)
def test_each_taxonomy_facet_filters_by_slug(param, field, slug):
    tagged = InitiativeFactory(**{field: [slug]})
    InitiativeFactory()
    filterset, found = run(f"{param}={slug}")
    assert found == {tagged}
    assert filterset.problems == []


def test_sector_stage_and_country_filter():
    match = InitiativeFactory(sector=term(Sector, "health"), stage="pilot", countries=["EE"])
    InitiativeFactory(stage="pilot", countries=["GB"])
    assert run("sector=health")[1] == {match}
    assert run("country=EE")[1] == {match}
    assert run("country=ee")[1] == {match}, "country codes are accepted in any case"
    assert len(run("stage=pilot")[1]) == 2


def test_values_of_one_facet_combine_with_or():
    cloud = InitiativeFactory(themes=["cloud"])
    data = InitiativeFactory(themes=["data-analytics"])
    InitiativeFactory(themes=["skills"])
    assert run("theme=cloud&theme=data-analytics")[1] == {cloud, data}


def test_different_facets_combine_with_and():
    both = InitiativeFactory(themes=["cloud"], drivers=["crisis"])
    InitiativeFactory(themes=["cloud"], drivers=["technology"])
    InitiativeFactory(themes=["skills"], drivers=["crisis"])
    assert run("theme=cloud&driver=crisis")[1] == {both}


def test_an_initiative_with_several_matching_tags_appears_once():
    InitiativeFactory(themes=["cloud", "data-analytics"], drivers=["crisis", "technology"])
    filterset, _ = run("theme=cloud&theme=data-analytics&driver=crisis&driver=technology")
    assert filterset.qs.count() == 1
    assert len(list(filterset.qs)) == 1


def test_year_range_uses_start_year():
    early = InitiativeFactory(start_year=2012)
    middle = InitiativeFactory(start_year=2018)
    InitiativeFactory(start_year=2024)
    assert run("year_from=2010&year_to=2020")[1] == {early, middle}
    assert run("year_from=2018")[1] - {early} == run("year_from=2018")[1]


def test_search_matches_every_word_in_title_summary_or_lead_organisation():
    hackney = InitiativeFactory(
        title="Digitising housing services",
        lead_organisation=OrganisationFactory(name="London Borough of Hackney"),
    )
    InitiativeFactory(title="Housing repairs chatbot")
    assert run("q=housing")[1] == {hackney, *run("q=repairs")[1]}
    assert run("q=hackney housing")[1] == {hackney}
    assert run("q=HOUSING hackney")[1] == {hackney}


def test_unknown_slug_is_ignored_and_reported_while_the_rest_applies():
    cloud = InitiativeFactory(themes=["cloud"])
    InitiativeFactory(themes=["skills"])
    filterset, found = run("theme=cloud&theme=no-such-theme")
    assert found == {cloud}
    assert filterset.problems == ["There is no theme called “no-such-theme”, so it was ignored."]


def test_each_value_is_checked_against_the_choices_as_they_are_now():
    # The check uses a set of the choices' keys, made afresh for each form: a term added
    # since the last request is accepted, and an unknown country is refused with the rest kept.
    uk = InitiativeFactory(countries=["GB"])
    InitiativeFactory(countries=["FR"])
    filterset, found = run("country=gb&country=XX")
    assert found == {uk}
    assert len(filterset.problems) == 1 and "XX" in filterset.problems[0]
    new = Theme.objects.create(name="Quantum", slug="quantum")
    uk.themes.add(new)
    filterset, found = run("theme=quantum")
    assert (found, filterset.problems) == ({uk}, [])


def test_bad_year_is_ignored_and_reported_while_other_facets_apply():
    cloud = InitiativeFactory(themes=["cloud"], start_year=2015)
    InitiativeFactory(themes=["skills"])
    filterset, found = run("theme=cloud&year_from=abc")
    assert found == {cloud}
    assert len(filterset.problems) == 1
    assert "“abc”" in filterset.problems[0]
    assert filterset.problems[0].startswith("Started from")


def test_out_of_range_year_is_reported():
    filterset, _ = run("year_to=99999")
    assert "“99999”" in filterset.problems[0]


def test_repeated_single_value_parameter_uses_the_last_and_says_so():
    InitiativeFactory(start_year=2010)
    late = InitiativeFactory(start_year=2020)
    filterset, found = run("year_from=2005&year_from=2015")
    assert found == {late}
    assert filterset.problems == [
        "Started from was given 2 times; only the last value, “2015”, was used."
    ]


def test_unknown_stage_and_sort_are_reported_and_ignored():
    InitiativeFactory()
    filterset, found = run("stage=rumoured&sort=sideways")
    assert len(found) == 1
    assert len(filterset.problems) == 2


def test_blank_values_are_ignored_silently():
    InitiativeFactory()
    filterset, found = run("q=&theme=&year_from=")
    assert len(found) == 1
    assert filterset.problems == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["Alpha", "Beta", "Gamma"]),
        ("-start_year", ["Beta", "Gamma", "Alpha"]),
        ("start_year", ["Alpha", "Gamma", "Beta"]),
    ],
)
def test_sort(sort, expected):
    InitiativeFactory(title="Gamma", start_year=2015)
    InitiativeFactory(title="Alpha", start_year=2010)
    InitiativeFactory(title="Beta", start_year=2020)
    filterset, _ = run(f"sort={sort}")
    assert [i.title for i in filterset.qs] == expected


def test_active_filters_remove_one_value_at_a_time():
    InitiativeFactory(themes=["cloud"])
    filterset, _ = run("theme=cloud&theme=skills&year_from=2010&q=data&page=3")
    chips = {chip["label"]: chip["remove_query"] for chip in filterset.active_filters()}
    cloud, skills = term(Theme, "cloud").name, term(Theme, "skills").name
    assert chips == {
        "Search: data": "theme=cloud&theme=skills&year_from=2010",
        f"Theme: {cloud}": "theme=skills&year_from=2010&q=data",
        f"Theme: {skills}": "theme=cloud&year_from=2010&q=data",
        "Started from 2010": "theme=cloud&theme=skills&q=data",
    }
