"""Hostile requests: query strings, paths, hosts, methods and headers no browser would send.

Every public endpoint must answer them as it answers any bad request (the HTML pages forgive
with a message, the API refuses with a JSON 400 or 404), never with a 5xx or a traceback,
always with the right content type, and within BOUND seconds.

Query strings are built byte by byte and passed as the WSGI QUERY_STRING, so what reaches
Django is exactly what a client could send: raw bytes that are not UTF-8, percent-escapes that
are not valid, NUL and control characters, lone surrogates, huge and repeated values.
"""

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import varied_initiatives
from tests.hostile import (
    HOSTILE,
    HTML,
    JSON,
    PARAMS,
    RAW,
    executable,
    fields,
    percent,
    query_strings,
    searches,
    send,
)

pytestmark = pytest.mark.django_db

# -- what to expect ---------------------------------------------------------------------------

# name: (path, its content type when 200, the statuses it may answer)
API_STATUSES = {200, 400, 404}
ENDPOINTS = {
    "home": ("/", HTML, {200}),
    "list": ("/initiatives/", HTML, {200}),
    "search": ("/initiatives/", HTML, {200}),
    "csv": ("/initiatives/export.csv", "text/csv; charset=utf-8; header=present", {200}),
    "json": ("/initiatives/export.json", JSON, {200}),
    "feed": ("/feeds/initiatives.atom", "application/atom+xml; charset=utf-8", {200}),
    "insights": ("/insights/", HTML, {200}),
    "detail": ("/initiatives/{slug}/", HTML, {200}),
    "organisation": ("/organisations/{organisation}/", HTML, {200}),
    "api-initiatives": ("/api/v1/initiatives/", JSON, API_STATUSES),
    "api-search": ("/api/v1/initiatives/", JSON, API_STATUSES),
    "api-initiative": ("/api/v1/initiatives/{slug}/", JSON, {200}),
    "api-organisations": ("/api/v1/organisations/", JSON, API_STATUSES),
    "api-themes": ("/api/v1/themes/", JSON, {200}),
    "api-sectors": ("/api/v1/sectors/{sector}/", JSON, {200}),
}


def parse(content_type, body):
    """The body read as what it claims to be (an exception if it is not)."""
    if content_type == HTML:
        html = body.decode()
        assert executable(html) == [], "reflected markup would run"
    elif content_type.startswith("text/csv"):
        header, *_ = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
        assert header[0] == "slug"
    elif content_type == JSON:
        return json.loads(body)
    else:
        ET.fromstring(body)
    return None


@pytest.fixture
def records():
    """A small catalogue varied in everything the filters use; slugs to put in paths."""
    initiative = varied_initiatives(8)[0]
    return {
        "slug": initiative.slug,
        "organisation": initiative.lead_organisation.slug,
        "sector": initiative.sector.slug,
    }


@pytest.fixture
def endpoints(records):
    return {
        name: (path.format(**records), content_type, statuses)
        for name, (path, content_type, statuses) in ENDPOINTS.items()
    }


def check(client, timings, endpoint, query_string):
    path, content_type, statuses = endpoint
    response, body = send(client, timings, "GET", path, query_string)
    where = f"{path}?{query_string[:200]!r}"
    # Django refuses too many fields (TooManyFieldsSent) once a view reads the query string;
    # a view that never reads it (home, a detail page) answers as usual.
    too_many = fields(query_string) > django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if too_many and response.status_code == 400:
        return
    assert response.status_code in statuses, (response.status_code, where, body[:300])
    if response.status_code == 200:
        assert response["Content-Type"] == content_type, where
        parse(content_type, body)
    else:
        # The API's refusals: JSON, one sentence in "detail", the parameters in "errors".
        assert response["Content-Type"] == JSON, where
        assert parse(JSON, body)["detail"], where


# -- query strings ----------------------------------------------------------------------------


def rotations(name_list, values):
    """Query strings giving every name every value: the i-th gives name j value i + j."""
    return [
        "&".join(f"{name}={values[(i + j) % len(values)]}" for j, name in enumerate(name_list))
        for i in range(len(values))
    ]


# Each fragment above as the value of every parameter (several parameters at once: the
# HTML list and the exports judge each on its own), all of them as names, and (on the
# endpoints that filter) each as the only search, which the API would otherwise refuse first.
FIXED = [
    *rotations(PARAMS, [percent(value) for value in HOSTILE]),
    *rotations(PARAMS, RAW),
    "&".join(f"{percent(value)}=1" for value in HOSTILE),
    "&".join(f"{value}=1" for value in RAW),
]
SEARCHED = [*(f"q={percent(value)}" for value in HOSTILE), *(f"q={value}" for value in RAW)]
# Numbers out of range, contradictions, repetitions, huge values and the field limit.
NAMED = [
    "page=99999999999999999999",
    "page=0",
    "page=-1",
    "year_from=-1e309&year_to=1e309",
    "year_from=NaN&year_to=NaN",
    "year_from=2030&year_to=1990",
    "sort=relevance",
    "sort=relevance&q=%00",
    "&".join(["theme=cloud"] * 150),
    "&".join(["year_from=2015"] * 150),
    "&".join(f"theme=no-such-theme-{n}" for n in range(300)),
    "q=" + "a" * 100_000,
    "q=" + "%ff" * 30_000,
    "theme=" + "x" * 100_000,
    "x" * 100_000 + "=1",
    "&".join(["x=1"] * django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS),
    "&".join(["x=1"] * (django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)),
]
# Endpoints that filter get every case; the others ignore the query string (or read `page`
# only), so one pass of the combined cases shows that they do.
FILTERING = {"list", "search", "csv", "json", "feed", "insights", "api-initiatives", "api-search"}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_known_hostile_query_strings(client, timings, endpoints, name):
    cases = FIXED + NAMED + (SEARCHED if name in FILTERING else [])
    for query_string in cases:
        if name in ("search", "api-search") and not query_string.startswith("q="):
            query_string = f"q=housing&{query_string}"
        check(client, timings, endpoints[name], query_string)


@pytest.mark.parametrize("name", ENDPOINTS)
@settings(
    max_examples=25,
    deadline=None,  # BOUND is checked per request instead, on a shared machine
    derandomize=True,  # the same cases on every run and database: failures reproduce
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_generated_hostile_query_strings(client, timings, endpoints, name, data):
    strategy = searches if name in ("search", "api-search") else query_strings
    check(client, timings, endpoints[name], data.draw(strategy, label="query string"))


# -- paths, hosts, methods and headers --------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/initiatives/%00/",
        "/initiatives/\x00/",
        "/initiatives/%ff%fe/",
        "/initiatives/\xff\xfe/",
        "/initiatives/%ed%a0%80/",
        "/initiatives/" + "a" * 10_000 + "/",
        "/initiatives/../../etc/passwd",
        "/static/../catalogue/settings.py",
        "/static/%2e%2e/catalogue/settings.py",
        "/organisations/%00/",
        "/initiatives/%00/cite.bib",
        "/sitemap-%00.xml",
        "/%ff",
    ],
)
def test_paths_with_null_bytes_and_invalid_utf8_are_html_404s(client, timings, path):
    response, _ = send(client, timings, "GET", path)
    assert response.status_code == 404
    assert response["Content-Type"] == HTML


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/initiatives/%00/",
        "/api/v1/initiatives/\x00/",
        "/api/v1/initiatives/%ff%fe/",
        "/api/v1/initiatives/\xff/",
        "/api/v1/themes/%ed%a0%80/",
        "/api/v1/%00/",
        "/api/v1/initiatives/" + "a" * 10_000 + "/",
    ],
)
def test_api_paths_with_null_bytes_and_invalid_utf8_are_json_404s(client, timings, path):
    response, body = send(client, timings, "GET", path)
    assert response.status_code == 404
    assert response["Content-Type"] == JSON
    assert json.loads(body)["detail"]


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "",
        "testserver:abc",
        "[::1",
        "a\x00b",
        "testserver/..",
        "é.example",
        "x" * 5000,
    ],
)
@pytest.mark.parametrize("path", ["/", "/initiatives/", "/initiatives/export.csv", "/api/v1/"])
def test_an_invalid_host_is_a_400(client, timings, host, path):
    """DisallowedHost, before any view builds an absolute URL from it."""
    response, body = send(client, timings, "GET", path, HTTP_HOST=host)
    assert response.status_code == 400
    if host:
        assert host.encode() not in body, "the refused host is not echoed"


UNSAFE = ["POST", "PUT", "PATCH", "DELETE"]
PUBLIC_PAGES = [
    "/",
    "/initiatives/",
    "/initiatives/{slug}/",
    "/initiatives/{slug}/cite.bib",
    "/organisations/{organisation}/",
    "/insights/",
    "/initiatives/export.csv",
    "/initiatives/export.json",
    "/feeds/initiatives.atom",
    "/sitemap.xml",
    "/robots.txt",
]
API_PATHS = ["/api/v1/", "/api/v1/initiatives/", "/api/v1/initiatives/{slug}/", "/api/v1/themes/"]


def paths(templates, records):
    return [path.format(**records) for path in templates]


@pytest.mark.parametrize("method", [*UNSAFE, "TRACE", "FOO"])
def test_public_pages_refuse_other_methods(timings, records, method):
    """Only GET and HEAD are answered: unsafe methods fail the CSRF check (403) or are not
    allowed (405); TRACE and unknown methods are not allowed either, never a page."""
    client = Client(enforce_csrf_checks=True)
    for path in paths(PUBLIC_PAGES, records):
        response, _ = send(client, timings, method, path, data=b"x=1")
        assert response.status_code in ({403, 405} if method != "TRACE" else {405}), path
        if response.status_code == 405:
            assert set(response["Allow"].split(", ")) <= {"GET", "HEAD", "OPTIONS"}, path


@pytest.mark.parametrize("method", [*UNSAFE, "TRACE", "FOO"])
def test_the_api_refuses_other_methods_with_json(timings, records, method):
    client = Client(enforce_csrf_checks=True)
    for path in paths(API_PATHS, records):
        response, body = send(
            client, timings, method, path, data=b'{"title": "x"}', content_type=JSON
        )
        assert response.status_code == 405, path
        assert response["Content-Type"] == JSON
        assert json.loads(body)["detail"]


@pytest.mark.parametrize(
    "cookie",
    [
        "a=" + "x" * 100_000,
        "; ".join(f"c{n}=v" for n in range(2000)),
        "sessionid=" + "\x00\xff" * 1000,
        "csrftoken=%00; sessionid=%ff;;;;=;",
        'sessionid="unterminated',
    ],
)
def test_huge_and_malformed_cookies_are_ignored(client, timings, records, cookie):
    for path in paths([*PUBLIC_PAGES[:6], *API_PATHS], records):
        response, _ = send(client, timings, "GET", path, HTTP_COOKIE=cookie)
        assert response.status_code == 200, path


def test_head_answers_as_get_without_a_body(client, timings, endpoints):
    for name, (path, content_type, _) in endpoints.items():
        response, body = send(client, timings, "HEAD", path, "theme=cloud&sort=title")
        assert response.status_code == 200, name
        assert response["Content-Type"] == content_type, name
        assert body == b"", name
