"""Issue 5's promise: from one filtered list to a CSV, a JSON file, an API call and a feed
that all hold exactly the same initiatives."""

import xml.etree.ElementTree as ET

import pytest

from tests.factories import DraftFactory, InitiativeFactory
from tests.readers import csv_records, json_document, listed

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def test_list_csv_json_api_and_feed_hold_the_same_initiatives(client, settings):
    settings.CATALOGUE_PAGE_SIZE = 4  # several pages, in the list and the API
    for n in range(9):
        InitiativeFactory(title=f"Match {n}", themes=["open-data"], outcomes=["cost-savings"])
    InitiativeFactory(title="Theme only", themes=["open-data"], outcomes=["participation"])
    InitiativeFactory(title="Outcome only", themes=["cloud"], outcomes=["cost-savings"])
    DraftFactory(title="Draft match", themes=["open-data"], outcomes=["cost-savings"])
    query = {"theme": "open-data", "outcome": "cost-savings"}

    total, in_list, _ = listed(client, query)
    assert total == 9

    in_csv = [row["slug"] for row in csv_records(client.get("/initiatives/export.csv", query))]
    in_json = [
        r["slug"]
        for r in json_document(client.get("/initiatives/export.json", query))["initiatives"]
    ]
    in_api, url = [], "/api/v1/initiatives/"
    params = dict(query)
    while url:
        page = client.get(url, params).json()
        in_api += [record["slug"] for record in page["results"]]
        url, params = page["next"], None
    feed = ET.fromstring(client.get("/feeds/initiatives.atom", query).content)
    in_feed = [
        entry.find(f"{ATOM}link").get("href").rstrip("/").rsplit("/", 1)[-1]
        for entry in feed.iter(f"{ATOM}entry")
    ]

    assert in_csv == in_list
    assert in_json == in_list
    assert in_api == in_list
    assert sorted(in_feed) == sorted(in_list)  # the feed is always newest first
