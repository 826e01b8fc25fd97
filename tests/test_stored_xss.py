"""Hostile text saved by an editor (or an import) renders inert on every public page."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.db import connection

from catalogue.models import Initiative, Organisation, Source
from tests.factories import InitiativeFactory, MetricFactory, PartnershipFactory, SourceFactory
from tests.test_markdown import PAYLOADS

pytestmark = pytest.mark.django_db

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
