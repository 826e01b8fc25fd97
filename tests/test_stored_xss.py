"""Hostile text saved by an editor (or an import) renders inert on every public page, and is
only data in every export and machine output."""

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from catalogue.models import Initiative, Organisation, Source, Theme
from tests.factories import (
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
    SourceFactory,
)
from tests.hostile import DANGEROUS, PAYLOADS, executable

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile():
    payload = " ".join(PAYLOADS)
    initiative = InitiativeFactory(
        title=f"Title {PAYLOADS[0]}",
        summary=f"Summary {payload}"[:600],
        challenge=payload,
        approach=payload,
        results=payload,
        lessons=payload,
    )
    # Fields an editor form validates, set the way an import or raw SQL could.
    Initiative.objects.filter(pk=initiative.pk).update(website="javascript:alert(1)")
    Organisation.objects.filter(pk=initiative.lead_organisation_id).update(
        name=f"Org {PAYLOADS[1]}", website="javascript:alert(1)"
    )
    PartnershipFactory(initiative=initiative, description=PAYLOADS[4])
    source = SourceFactory(initiative=initiative, title=PAYLOADS[2], author=PAYLOADS[0])
    Source.objects.filter(pk=source.pk).update(url="javascript:alert(1)")
    MetricFactory(
        initiative=initiative, label=PAYLOADS[1], baseline=PAYLOADS[0], period=PAYLOADS[5]
    )
    # Vocabularies are edited in the admin too; this one is the initiative's theme.
    Theme.objects.filter(slug="digital-services").update(
        name=f"Theme {PAYLOADS[4]}", description=payload
    )
    cache.clear()  # the vocabularies are cached
    if connection.vendor == "postgresql":
        initiative.refresh_from_db()
    return Initiative.objects.get(pk=initiative.pk)


def test_stored_payloads_are_inert_on_every_public_page(client, hostile):
    pages = [
        hostile.get_absolute_url(),
        hostile.lead_organisation.get_absolute_url(),
        "/initiatives/",
        "/initiatives/?q=alert",
        "/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert executable(response.text) == [], url
    # The text is still there, shown as text.
    detail = client.get(hostile.get_absolute_url()).text
    # Structured data carries the text exactly, with nothing that could close its element.
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', detail, re.S)
    assert "<" not in block[1] and ">" not in block[1]
    assert json.loads(block[1])["name"] == hostile.title
    assert "Title &lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert 'href="javascript' not in detail.lower()


# -- exports and machine outputs ---------------------------------------------------------------

NOT_HTML = {
    "/initiatives/export.csv": "text/csv; charset=utf-8; header=present",
    "/initiatives/export.json": "application/json",
    "/feeds/initiatives.atom": "application/atom+xml; charset=utf-8",
    "/api/v1/initiatives/": "application/json",
    "/api/v1/organisations/": "application/json",
    "/api/v1/themes/": "application/json",
    "/sitemap.xml": "application/xml",
    "/robots.txt": "text/plain; charset=utf-8",
}


@pytest.fixture
def formulas(hostile):
    """A second record whose text would be a formula in a spreadsheet, or a new field in a
    citation file, if written as it is."""
    initiative = InitiativeFactory(
        title='=HYPERLINK("javascript:alert(1)","x") }, url = {javascript:alert(1)',
        summary="\t=cmd|' /C calc'!A0\r\nTY  - JOUR\r\nUR  - javascript:alert(1)",
        lead_organisation=OrganisationFactory(name="@SUM(1+1)*cmd|' /C calc'!A0"),
        source=False,
    )
    PartnershipFactory(initiative=initiative, organisation=OrganisationFactory(name="+cmd|' /C"))
    MetricFactory(initiative=initiative, label="-2+3+cmd|' /C calc'!A0")
    SourceFactory(initiative=initiative, title="=1+1")
    return Initiative.objects.get(pk=initiative.pk)


def read(response):
    assert response.status_code == 200, response.status_code
    # Served as what it is, never sniffed as HTML by a browser.
    assert response["X-Content-Type-Options"] == "nosniff"
    return b"".join(response.streaming_content) if response.streaming else response.content


def get(client, url, content_type):
    response = client.get(url)
    body = read(response)
    assert response["Content-Type"] == content_type, url
    return response, body


def test_machine_outputs_are_never_served_as_html(client, hostile, formulas):
    for url, content_type in NOT_HTML.items():
        get(client, url, content_type)
    for url, content_type in {
        f"/api/v1/initiatives/{hostile.slug}/": "application/json",
        f"/api/v1/organisations/{hostile.lead_organisation.slug}/": "application/json",
        f"/initiatives/{hostile.slug}/cite.bib": "application/x-bibtex; charset=utf-8",
        f"/initiatives/{hostile.slug}/cite.ris": "application/x-research-info-systems; "
        "charset=utf-8",
    }.items():
        get(client, url, content_type)


def test_csv_export_holds_the_payloads_as_neutralised_data(client, hostile, formulas):
    response, body = get(client, "/initiatives/export.csv", NOT_HTML["/initiatives/export.csv"])
    assert response["Content-Disposition"].startswith("attachment;")
    header, *rows = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    records = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    for row in rows:
        for column, cell in zip(header, row, strict=True):
            assert not cell.startswith(DANGEROUS), (column, cell)
    payloads = records[hostile.slug]
    assert payloads["title"] == hostile.title
    assert payloads["lead_organisation"] == hostile.lead_organisation.name
    assert payloads["summary"] == hostile.summary
    assert payloads["metrics"].startswith(f"{PAYLOADS[1]}: ")
    assert PAYLOADS[2] in payloads["sources"]
    assert f"Theme {PAYLOADS[4]}" in payloads["themes"]
    neutralised = records[formulas.slug]
    assert neutralised["title"] == "'" + formulas.title
    assert neutralised["summary"] == "'" + formulas.summary
    assert neutralised["lead_organisation"] == "'" + formulas.lead_organisation.name
    for column in ("partners", "metrics", "sources"):
        assert neutralised[column].startswith("'"), column


def test_json_export_and_api_hold_the_payloads_as_data(client, hostile, formulas):
    _, body = get(client, "/initiatives/export.json", "application/json")
    records = {record["slug"]: record for record in json.loads(body)["initiatives"]}
    assert records[hostile.slug]["title"] == hostile.title
    assert records[hostile.slug]["summary"] == hostile.summary
    assert records[hostile.slug]["themes"] == [f"Theme {PAYLOADS[4]}"]
    # JSON is data for programs: no spreadsheet neutralising there.
    assert records[formulas.slug]["title"] == formulas.title

    _, body = get(client, "/api/v1/initiatives/", "application/json")
    listed = {item["slug"]: item for item in json.loads(body)["results"]}
    assert listed[hostile.slug]["title"] == hostile.title
    assert listed[hostile.slug]["themes"][0]["name"] == f"Theme {PAYLOADS[4]}"
    _, body = get(client, f"/api/v1/initiatives/{hostile.slug}/", "application/json")
    detail = json.loads(body)
    assert detail["challenge"] == hostile.challenge
    assert detail["lead_organisation"]["name"] == hostile.lead_organisation.name
    assert [partner["description"] for partner in detail["partners"]] == [PAYLOADS[4]]
    sources = {source["title"]: source for source in detail["sources"]}
    # Links are given only when they are http(s), as on the public pages.
    assert sources[PAYLOADS[2]]["url"] is None
    assert detail["website"] is None
    _, body = get(client, "/api/v1/themes/digital-services/", "application/json")
    assert json.loads(body)["name"] == f"Theme {PAYLOADS[4]}"


def test_feed_carries_the_payloads_as_text_and_inert_html(client, hostile, formulas):
    _, body = get(client, "/feeds/initiatives.atom", NOT_HTML["/feeds/initiatives.atom"])
    feed = ET.fromstring(body)
    atom = "{http://www.w3.org/2005/Atom}"
    entries = {entry.findtext(f"{atom}title"): entry for entry in feed.iter(f"{atom}entry")}
    entry = entries[hostile.title]
    # The catalogue wrote the entry; the organisation is its subject, the first category.
    assert entry.findtext(f"{atom}author/{atom}name") == settings.CATALOGUE_NAME
    terms = [category.get("term") for category in entry.findall(f"{atom}category")]
    assert terms[:2] == [hostile.lead_organisation.name, f"Theme {PAYLOADS[4]}"]
    for element in feed.iter():
        assert element.get("type") in (None, "text", "html"), element.tag
        if element.get("type") == "html":
            # A feed reader renders this as HTML: it must show the payload as text.
            assert executable(element.text) == [], element.tag
        href = element.get("href")
        if href is not None:
            assert href.startswith("http://testserver/"), href
    summary = entry.find(f"{atom}summary")
    assert summary.get("type") == "html"
    assert html.unescape(summary.text) == hostile.summary


def test_citation_downloads_keep_each_payload_in_its_field(client, hostile, formulas):
    for initiative in (hostile, formulas):
        path = initiative.get_absolute_url()
        response, body = get(
            client, f"{path}cite.ris", "application/x-research-info-systems; charset=utf-8"
        )
        assert response["Content-Disposition"].startswith("attachment;")
        lines = body.decode().split("\r\n")
        assert lines.pop() == ""
        # One tag a line, each line a tag: no payload starts a field or a record.
        assert all(re.fullmatch(r"[A-Z][A-Z0-9]  -( .*)?", line) for line in lines), lines
        tags = [line[:2] for line in lines]
        assert tags.count("TY") == tags.count("ER") == tags.count("UR") == 1
        assert f"TI  - {' '.join(initiative.title.split())}" in lines

        response, body = get(client, f"{path}cite.bib", "application/x-bibtex; charset=utf-8")
        text = body.decode()
        fields = re.findall(r"^  (\w+) = \{", text, re.M)
        assert fields == [
            "author", "title", "howpublished", "keywords", "year", "url", "urldate", "note",
        ]  # fmt: skip
        # Every brace from the record is escaped: the entry's own braces still balance.
        unescaped = re.sub(r"\\[{}]", "", text)
        assert unescaped.count("{") == unescaped.count("}")
        assert "javascript:alert(1)" not in re.search(r"url = \{(.*)\}", text)[1]


def test_sitemap_lists_only_our_own_urls(client, hostile, formulas):
    _, body = get(client, "/sitemap.xml", "application/xml")
    sitemap = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    for section in ET.fromstring(body).iter(f"{sitemap}loc"):
        _, page = get(client, section.text.removeprefix("http://testserver"), "application/xml")
        for loc in ET.fromstring(page).iter(f"{sitemap}loc"):
            assert re.fullmatch(r"http://testserver/[-a-z0-9/]*", loc.text), loc.text


def test_insights_shows_the_payloads_as_text(client, hostile, formulas):
    _, body = get(client, "/insights/", "text/html; charset=utf-8")
    page = body.decode()
    assert executable(page) == []
    assert html.escape(f"Theme {PAYLOADS[4]}") in page
