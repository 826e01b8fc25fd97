"""Hostile input for the tests, and how to send it: the values and byte strings no browser
would send (tests/test_hostile_input.py, tests/test_hostile_admin.py), the markup an editor
or an import might save (tests/test_stored_xss.py, tests/test_markdown.py), and a checker for
what a browser would run."""

import re
import time
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import quote

from hypothesis import strategies as st

from catalogue.filters import SORTS, InitiativeFilter
from catalogue.models import Initiative, Organisation

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


PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<svg onload="alert(1)"></svg>',
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "[x](JaVaScRiPt:alert(1))",
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
]


# Characters a spreadsheet reads as the start of a formula.
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


MARKER = "alert(1)"


class Executable(HTMLParser):
    """Collects what a browser would run: scripts, handlers, script URLs, embedded content."""

    def __init__(self):
        super().__init__()
        self.found, self.in_script = [], False

    def handle_starttag(self, tag, attrs):
        if tag in {"iframe", "svg", "style", "object", "embed"}:
            self.found.append(tag)
        # Data blocks (JSON-LD) are never run; their escaping is checked separately.
        kind = dict(attrs).get("type") or "text/javascript"
        self.in_script = tag == "script" and "json" not in kind
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}")
            script_url = value and re.match(r"\s*(javascript|data|vbscript):", value, re.I)
            if name in {"href", "src", "action", "formaction"} and script_url:
                self.found.append(f"{tag} {name}={value}")

    def handle_data(self, data):
        if self.in_script and MARKER in data:
            self.found.append(f"script: {data[:40]}")

    def handle_endtag(self, tag):
        self.in_script = False


def executable(html):
    parser = Executable()
    parser.feed(html)
    return parser.found


def read(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


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
