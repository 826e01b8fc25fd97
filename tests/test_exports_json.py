"""The JSON export, /initiatives/export.json, is the CSV structured; both exports report
problems rather than fail, survive hostile queries and stream in chunks."""

import json
import re

import pytest
from django.core.cache import cache
from django.db import connection

from catalogue import exports
from tests.factories import (
    InitiativeFactory,
    MetricFactory,
    PartnershipFactory,
)
from tests.hostile import DANGEROUS
from tests.outputs_support import (
    CSV,
    FEED,
    JSON,
    NASTY,
    ON_POSTGRES,
)
from tests.readers import body, csv_records, json_document

pytestmark = pytest.mark.django_db

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
