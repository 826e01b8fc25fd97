"""Cite this: plain text, BibTeX and RIS; and what machines read: canonical, Open Graph, JSON-LD."""

import datetime
import json
import re

import pytest
from django.conf import settings

from catalogue.models import Initiative
from tests.factories import DraftFactory, InitiativeFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

HOST = "http://testserver"


@pytest.fixture
def initiative():
    record = InitiativeFactory(
        title="Rates & rebates: 100% online_first {pilot}",
        summary="Line one.\nLine two, with “quotes”.",
        lead_organisation=OrganisationFactory(name="Borough of Ünïcode & Co"),
        published_at=datetime.datetime(2024, 3, 5, 12, tzinfo=datetime.UTC),
    )
    Initiative.objects.filter(pk=record.pk).update(
        updated_at=datetime.datetime(2025, 7, 9, 12, tzinfo=datetime.UTC)
    )
    return Initiative.objects.get(pk=record.pk)


def test_the_page_offers_a_plain_text_citation(client, initiative):
    text = client.get(initiative.get_absolute_url()).text
    citation = re.search(r'<div class="govuk-inset-text app-citation">(.*?)</div>', text, re.S)[1]
    # The catalogue wrote the case study; the organisation is what it is about.
    assert f"{settings.CATALOGUE_NAME} (2024) Rates &amp; rebates" in citation
    assert "Case study of Borough of Ünïcode &amp; Co." in citation
    assert not citation.startswith("Borough")
    assert "Version of 9 July 2025" in citation
    assert f"{HOST}{initiative.get_absolute_url()}" in citation


def test_bibtex_download(client, initiative):
    response = client.get(f"{initiative.get_absolute_url()}cite.bib")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-bibtex")
    assert f'filename="{initiative.slug}.bib"' in response["Content-Disposition"]
    bib = response.text
    assert bib.startswith("@misc{")
    assert r"title = {Rates \& rebates: 100\% online\_first \{pilot\}}" in bib
    assert f"author = {{{{{settings.CATALOGUE_NAME}}}}}" in bib
    assert "keywords = {Borough of Ünïcode \\& Co}" in bib
    assert "Borough" not in bib.split("author = ", 1)[1].split("\n", 1)[0]
    assert "year = {2024}" in bib
    assert f"url = {{{HOST}{initiative.get_absolute_url()}}}" in bib
    assert "note = {Case study of Borough of Ünïcode \\& Co. Version of 2025-07-09}" in bib
    # Every brace the writer did not escape is balanced.
    unescaped = re.sub(r"\\[{}]", "", bib)
    depth = 0
    for char in unescaped:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0


def test_ris_download(client, initiative):
    response = client.get(f"{initiative.get_absolute_url()}cite.ris")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-research-info-systems")
    lines = response.content.decode().split("\r\n")
    assert lines[0] == "TY  - ELEC"
    assert lines[-2] == "ER  -"
    assert lines[-1] == ""
    pairs = [line.split("  - ", 1) for line in lines[:-2]]
    tags = dict(pairs)
    assert tags["TI"] == initiative.title
    assert [value for tag, value in pairs if tag == "AU"] == [settings.CATALOGUE_NAME]
    keywords = [value for tag, value in pairs if tag == "KW"]
    assert keywords[0] == "Borough of Ünïcode & Co"
    assert tags["PY"] == "2024"
    assert tags["DA"] == "2025/07/09"
    assert tags["AB"] == "Line one. Line two, with “quotes”."  # one line per tag
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]  - .*|ER  -", line) for line in lines[:-1])


def test_citations_only_for_published_records(client):
    draft = DraftFactory()
    for format in ("bib", "ris"):
        assert client.get(f"{draft.get_absolute_url()}cite.{format}").status_code == 404


def test_unknown_citation_format_is_not_found(client, initiative):
    assert client.get(f"{initiative.get_absolute_url()}cite.exe").status_code == 404


def test_canonical_and_open_graph(client, initiative):
    text = client.get(initiative.get_absolute_url()).text
    url = f"{HOST}{initiative.get_absolute_url()}"
    assert f'<link rel="canonical" href="{url}">' in text
    assert f'<meta property="og:url" content="{url}">' in text
    assert '<meta property="og:title" content="Rates &amp; rebates' in text
    assert '<meta property="og:type" content="article">' in text
    assert '<meta property="article:published_time" content="2024-03-05' in text


def test_json_ld_describes_the_case_study(client, initiative):
    text = client.get(initiative.get_absolute_url()).text
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)[1]
    data = json.loads(block)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Article"
    assert data["name"] == initiative.title
    assert data["url"] == f"{HOST}{initiative.get_absolute_url()}"
    assert data["author"] == {"@type": "Organization", "name": settings.CATALOGUE_NAME}
    assert data["about"][0]["name"] == "Borough of Ünïcode & Co"
    assert data["about"][0]["url"].startswith(HOST)
    assert data["datePublished"].startswith("2024-03-05T12:00:00")
    assert data["dateModified"].startswith("2025-07-09T12:00:00")
    assert data["about"][1:] == [t.name for t in initiative.themes.all()]
    assert data["citation"]  # the factory gives every record a source
