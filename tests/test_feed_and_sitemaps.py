"""The Atom feed, the sitemaps and robots.txt; and no unpublished record, script or data
URL in any output."""

import urllib.robotparser
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.html import escape

from catalogue import exports, feeds, sitemaps
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    OrganisationFactory,
    PartnershipFactory,
    SourceFactory,
)
from tests.outputs_support import (
    ATOM,
    CSV,
    FEED,
    JSON,
    SITEMAP,
)
from tests.readers import body, csv_rows, json_document, xml_of

pytestmark = pytest.mark.django_db

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
