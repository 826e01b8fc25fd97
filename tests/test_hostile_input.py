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
import time
import xml.etree.ElementTree as ET
from collections import Counter
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogue.filters import SORTS, InitiativeFilter
from catalogue.models import Initiative, Organisation
from tests.test_api import varied_catalogue
from tests.test_stored_xss import executable

pytestmark = pytest.mark.django_db

# Seconds any one response may take, the body read in full. The test catalogue answers in
# milliseconds; this leaves room for a loaded 2-core CI machine while still catching a
# quadratic parse, a regex that backtracks or a query that scans without an index.
BOUND = 3.0

HTML = "text/html; charset=utf-8"
JSON = "application/json"

# -- what to send -----------------------------------------------------------------------------

PARAMS = [*InitiativeFilter.base_filters, "page"]
REAL_VALUES = [
    "cloud",
    "open-data",
    "crisis",
    "cost-savings",
    "funding",
    "health",
    *Initiative.Stage.values,
    *Organisation.Kind.values[:3],
    "GB",
    "ee",
    "EU",
    *SORTS,
    "2015",
    "1",
    "2",
    "housing",
]
SQL = ["' OR 1=1--", "'; DROP TABLE catalogue_initiative;--", "%' --", "1) OR (1=1", '" OR ""="']
TEMPLATE = ["{{ 7*7 }}", "{% debug %}", "{{ request.META }}", "${7*7}", "#{7*7}", "%s%n%x", "{0}"]
TRAVERSAL = ["../../../../etc/passwd", "..\\..\\win.ini", "/dev/zero", "file:///etc/passwd"]
# websearch_to_tsquery's operators, and tsquery's own, which it must treat as text.
SEARCH_SYNTAX = [
    '"',
    "-",
    "or",
    "OR or -or",
    "a:*",
    "':*",
    "&|!()",
    "!(a & b) | c <-> d",
    '"unterminated phrase',
    '-"',
    '""""',
    "---housing",
    "a <2> b",
    "\\",
    "housing or",
    "or housing",
    '-"open data" or -',
]
MARKUP = ["<script>alert(1)</script>", '"><svg onload=alert(1)>', "javascript:alert(1)"]
TEXT = [
    "\x00",
    "a\x00b",
    "\x1b[31m\x07\x08",
    "\r\nSet-Cookie: a=b",
    "\u202eevil",  # right-to-left override
    "e\u0301\u0301\u0301\u0301",  # combining marks
    "\U0001f600\U00010348",  # astral
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic
    "\ufeff\uffff\ufffe",
    "\ud800",  # a lone surrogate: only percent-encodable (as CESU bytes)
    "\ue000\ue001",  # the private-use marks search.py highlights with
]
NUMBERS = [
    "NaN",
    "Infinity",
    "-1e309",
    "1e309",
    "99999999999999999999",
    "-99999999999999999999",
    "0x10",
    "\u0662\u0660\u0661\u0665",  # 2015 in Arabic-Indic digits
    "\uff12\uff10\uff11\uff15",  # 2015 in full-width digits
    " 2015 ",
    "2015.0",
    "-0",
    "0",
]
HOSTILE = SQL + TEMPLATE + TRAVERSAL + SEARCH_SYNTAX + MARKUP + TEXT + NUMBERS
# Fragments sent verbatim: percent-escapes that are not valid, and bytes that are not UTF-8.
RAW = [
    "%00",
    "%ff%fe",
    "%ed%a0%80",  # an encoded lone surrogate
    "%c0%af",  # an overlong "/"
    "%e2%82",  # a truncated sequence
    "%",
    "%zz",
    "%%",
    "%2",
    "%u0000",
    "\xff\xfe",  # raw bytes (WSGI strings are latin-1)
    "\x00",
    "\xc3",
    "+",
    "#",
    ";",
]
# Repeated by hypothesis to 10,000 to 100,000 characters: long values, and the shapes that
# make a backtracking parser or an unbounded search expression slow.
UNITS = ["a", "é", "\U0001f600", "a ", "-a ", "or ", '"', "(a*)*", "(", "a:* ", "%00", "%ff"]


def percent(text):
    return quote(text, safe="", encoding="utf-8", errors="surrogatepass")


def raw(text):
    """Text as the bytes a client sends unescaped (latin-1, as WSGI carries them)."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


words = st.one_of(
    st.sampled_from(REAL_VALUES),
    st.sampled_from(HOSTILE),
    st.text(max_size=30),
)
huge = st.builds(
    lambda unit, length: unit * (length // len(unit)),
    st.sampled_from(UNITS),
    st.integers(10_000, 100_000),
)
# Text as it is written into the query string: escaped, raw, or broken.
short = st.one_of(
    words.map(percent),
    words.map(raw),
    st.sampled_from(RAW),
    st.lists(st.sampled_from([*RAW, "a", "1"]), min_size=2, max_size=6).map("".join),
)
encoded = short | huge.map(percent) | huge.map(raw)
names = st.sampled_from(PARAMS) | st.sampled_from(PARAMS).map(str.upper) | short
pairs = st.tuples(names, encoded).map(lambda pair: f"{pair[0]}={pair[1]}")
short_pairs = st.tuples(names, short).map(lambda pair: f"{pair[0]}={pair[1]}")
# A parameter given 100 to 300 times: a repeated single value, or many values of a list.
repeated = st.builds(
    lambda pair, times: "&".join([pair] * times), short_pairs, st.integers(100, 300)
) | st.builds(
    lambda name, values: "&".join(f"{name}={value}" for value in values),
    st.sampled_from(PARAMS),
    st.lists(short, min_size=100, max_size=200),
)
query_strings = st.lists(
    pairs | repeated | st.sampled_from(["", "=", "&&", "q", "=x"]), max_size=5
).map("&".join)
# The search path: a usable q (at most 200 characters) in its web-search syntax, plus the rest.
searches = st.builds(
    lambda q, rest: f"q={percent(q)}&{rest}",
    st.lists(st.sampled_from(SEARCH_SYNTAX + REAL_VALUES + SQL + MARKUP), min_size=1, max_size=8)
    .map(" ".join)
    .map(lambda text: text[:200]),
    query_strings,
)


def fields(query_string):
    """How many fields Django counts (DATA_UPLOAD_MAX_NUMBER_FIELDS is checked on this)."""
    return query_string.count("&") + 1


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


def read(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


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


class Timings:
    """The slowest response seen, reported once at the end of the module."""

    def __init__(self):
        self.requests, self.statuses = 0, Counter()
        self.slowest, self.slowest_request = 0.0, ""

    def add(self, elapsed, request, status):
        self.requests += 1
        self.statuses[status] += 1
        if elapsed > self.slowest:
            self.slowest, self.slowest_request = elapsed, request[:120]


@pytest.fixture(scope="module")
def timings(request):
    found = Timings()
    yield found
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter and capture and found.requests:
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nhostile input on {connection.vendor}: {found.requests} requests, statuses "
                f"{dict(sorted(found.statuses.items()))}, slowest {found.slowest:.2f} s "
                f"(bound {BOUND} s): {found.slowest_request!r}"
            )


@pytest.fixture
def records():
    """A small catalogue varied in everything the filters use; slugs to put in paths."""
    initiative = varied_catalogue(8)[0]
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


def send(client, timings, method, path, query_string="", **extra):
    """The request, its body read in full, and no slower than BOUND."""
    start = time.perf_counter()
    response = client.generic(method, path, QUERY_STRING=query_string, **extra)
    body = read(response)
    elapsed = time.perf_counter() - start
    timings.add(elapsed, f"{method} {path}?{query_string}", response.status_code)
    assert elapsed < BOUND, f"{elapsed:.2f} s for {method} {path}?{query_string[:200]!r}"
    assert response.status_code < 500, (path, query_string[:200])
    assert b"Traceback" not in body
    assert response["X-Content-Type-Options"] == "nosniff"
    return response, body


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
