"""Hostile query strings against the admin, as a signed-in Editor would send them.

Staff requests follow the public rule: no query string gives a 5xx or a traceback. The
admin's own answer to a lookup it cannot use is a redirect to the plain list (?e=1); a
search for text no record can hold (a NUL) finds nothing. Each case runs on SQLite and
PostgreSQL, where a NUL reaching the database, or a year past a date's range, used to be a
500.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.admin_support import client_for, member_of
from tests.factories import InitiativeFactory, PartnershipFactory
from tests.hostile import HOSTILE, RAW, percent, query_strings, send

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"
AUTOCOMPLETE = (
    f"{ADMIN}autocomplete/?app_label=catalogue&model_name=initiative"
    "&field_name=lead_organisation&term="
)
LISTS = {
    "initiatives": f"{ADMIN}catalogue/initiative/",
    "organisations": f"{ADMIN}catalogue/organisation/",
    "places": f"{ADMIN}catalogue/place/",
    "proposals": f"{ADMIN}catalogue/proposal/",
    "themes": f"{ADMIN}catalogue/theme/",
    "sectors": f"{ADMIN}catalogue/sector/",
    "history": f"{ADMIN}catalogue/initiative/{{pk}}/history/",
    "recover": f"{ADMIN}catalogue/initiative/recover/",
    "users": f"{ADMIN}auth/user/",
}
# The admin's own parameters: search, order, page, facets, the date hierarchy and the
# initiative list's filters.
ADMIN_PARAMS = [
    "q",
    "o",
    "p",
    "e",
    "_facets",
    "_to_field",
    "status__exact",
    "stage__exact",
    "sector__id__exact",
    "themes__id__exact",
    "evidence_level__exact",
    "kind__exact",
    "region__exact",
    "state__exact",
    "updated_at__year",
    "updated_at__month",
    "updated_at__day",
]
NAMED = [
    "status__exact=%00",
    "q=%00",
    "q=a%00b",
    "%00=1",
    "updated_at__year=99999999999",
    "updated_at__year=2026&updated_at__month=99999999999",
    "updated_at__year=2026&updated_at__month=2&updated_at__day=31",
    "updated_at__year=-1",
    "updated_at__year=0",
    "o=99999999999999999999",
    "o=-0.-1",
    "p=99999999999999999999",
    "p=-1",
    "themes__id__exact=99999999999999999999",
    "sector__id__exact=abc",
    "lead_organisation__id__exact=%00",
    "evidence_level__exact=NaN",
    "_to_field=password",
    "q=" + "a" * 100_000,
]
ROTATED = [
    "&".join(f"{name}={values[(i + j) % len(values)]}" for j, name in enumerate(ADMIN_PARAMS))
    for values in ([percent(value) for value in HOSTILE], RAW)
    for i in range(len(values))
]
# What the Editor may be answered: the page, the admin's redirect to its plain list, a
# refusal of a list Editors may not see, or no such record; a 400 for what Django calls
# suspicious (a _to_field naming a field the admin does not link by).
STATUSES = {200, 302, 400, 403, 404}


@pytest.fixture
def editor_client():
    client = client_for(member_of("Editors", "edna"))
    client.raise_request_exception = False  # a 500 is the answer to check, not an error
    return client


@pytest.fixture
def urls():
    initiative = InitiativeFactory(title="Housing repairs online")
    PartnershipFactory(initiative=initiative)
    return {name: path.format(pk=initiative.pk) for name, path in LISTS.items()}


def check(client, timings, path, query_string):
    response, body = send(client, timings, "GET", path, query_string)
    assert response.status_code in STATUSES, (path, query_string[:200], body[:300])
    if response.status_code == 302:
        # Django's redirect to the plain list with ?e=1, which is itself a page.
        assert client.get(response["Location"]).status_code in STATUSES
    return response


@pytest.mark.parametrize("name", LISTS)
def test_known_hostile_query_strings_on_admin_lists(editor_client, timings, urls, name):
    for query_string in NAMED + ROTATED:
        check(editor_client, timings, urls[name], query_string)


def test_a_nul_in_a_filter_or_search_is_refused_as_a_lookup_not_a_500(editor_client, urls):
    for query_string in ("status__exact=%00", "q=%00", "updated_at__year=99999999999"):
        response = editor_client.get(urls["initiatives"], QUERY_STRING=query_string)
        assert response.status_code == 302, query_string
        assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    "term", ["%00", "a%00", "%ff%fe", "%ed%a0%80", "%", "a" * 10_000, *map(percent, HOSTILE)]
)
def test_autocomplete_answers_every_term(editor_client, timings, urls, term):
    path, query = AUTOCOMPLETE.split("?")
    response = check(editor_client, timings, path, query + term)
    assert response.status_code == 200
    if "%00" in term:
        assert response.json()["results"] == []  # no stored name holds a NUL


def test_autocomplete_still_finds_by_name(editor_client):
    lead = InitiativeFactory().lead_organisation
    response = editor_client.get(AUTOCOMPLETE + percent(lead.name[:6]))
    assert response.status_code == 200
    assert lead.name in [result["text"] for result in response.json()["results"]]


@pytest.mark.parametrize("name", ["initiatives", "organisations", "proposals"])
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_generated_hostile_query_strings_on_admin_lists(editor_client, timings, urls, name, data):
    names = st.sampled_from(ADMIN_PARAMS)
    admin_pairs = st.tuples(names, st.sampled_from([*map(percent, HOSTILE), *RAW])).map("=".join)
    query = data.draw(
        st.lists(admin_pairs, min_size=1, max_size=6).map("&".join) | query_strings,
        label="query string",
    )
    check(editor_client, timings, urls[name], query)


def test_an_overlong_search_says_why_it_found_nothing(editor_client, urls):
    response = editor_client.get(urls["initiatives"], {"q": "a" * 100_000})
    assert response.status_code == 200
    assert "Searches are limited to 1,000 characters" in response.text
    assert "Housing repairs online" not in response.text
    found = editor_client.get(urls["initiatives"], {"q": "Housing repairs"})
    assert "Housing repairs online" in found.text
