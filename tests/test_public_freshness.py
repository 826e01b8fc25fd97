"""What the public's copies of the catalogue may show, and for how long.

- Validators (ETags) come from public content only: editing a draft, which the public cannot
  see, changes no public ETag; publishing does.
- The feed and the sitemaps are the only outputs shared caches may keep, for at most
  CATALOGUE_PUBLIC_MAX_AGE seconds; pages, exports and the API say nothing a cache could keep
  them by. A record a Publisher unpublishes leaves every public output at once on the server
  and, through any cache, within that bound.
"""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils.cache import get_max_age

from catalogue.models import Initiative, Status
from tests.admin_support import client_for, member_of, post_change
from tests.factories import DraftFactory, InitiativeFactory

pytestmark = pytest.mark.django_db

VALIDATED = ["/feeds/initiatives.atom", "/sitemap.xml", "/sitemap-initiatives.xml"]


def outputs(slug):
    return [
        "/",
        "/initiatives/",
        f"/initiatives/{slug}/",
        "/initiatives/?q=zanzibarfix",
        f"/initiatives/{slug}/cite.bib",
        f"/initiatives/{slug}/cite.ris",
        "/initiatives/export.csv",
        "/initiatives/export.json",
        "/api/v1/initiatives/",
        f"/api/v1/initiatives/{slug}/",
        "/feeds/initiatives.atom",
        "/sitemap-initiatives.xml",
    ]


def body(response):
    content = b"".join(response) if response.streaming else response.content
    return re.sub(rb'nonce="[^"]*"', b"", content).decode()


def shows(response):
    """Whether the response names the record (its title or its address)."""
    text = body(response)
    return "Zanzibarfix housing" in text or "zanzibarfix-housing" in text


def test_editing_a_draft_changes_no_public_etag(client):
    InitiativeFactory(title="Live one")
    draft = DraftFactory(title="Secret draft")
    before = {url: client.get(url)["ETag"] for url in VALIDATED}
    assert all(before.values())

    draft.title = "Secret draft, renamed"
    draft.save()
    for url, etag in before.items():
        again = client.get(url, headers={"if-none-match": etag})
        assert again.status_code == 304, url
        assert again["ETag"] == etag

    draft.status = Status.PUBLISHED
    draft.save()
    for url, etag in before.items():
        changed = client.get(url, headers={"if-none-match": etag})
        assert changed.status_code == 200, url
        assert changed["ETag"] != etag


def test_exports_carry_no_validator_built_from_editorial_activity(client):
    InitiativeFactory()
    for url in ("/initiatives/export.csv", "/initiatives/export.json"):
        response = client.get(url)
        assert not response.has_header("ETag")
        assert not response.has_header("Last-Modified")


def test_an_unpublished_record_leaves_every_public_output_within_the_bound():
    publisher = client_for(member_of("Publishers", "pablo"))
    record = InitiativeFactory(title="Zanzibarfix housing", slug="zanzibarfix-housing")
    InitiativeFactory(title="Another live record")
    visitor = Client()
    urls = outputs(record.slug)
    seen = {url: visitor.get(url) for url in urls}
    for url, response in seen.items():
        assert response.status_code == 200, url
        assert shows(response), url

    response = post_change(publisher, record, transition="unpublish")
    assert response.status_code == 302
    assert Initiative.objects.get(pk=record.pk).status == Status.DRAFT

    for url in urls:
        response = visitor.get(url)
        assert response.status_code in (200, 404), url
        assert not shows(response), url
        # What a shared cache may keep it by: an explicit bound, or nothing at all (no
        # freshness and no Last-Modified for a heuristic one).
        max_age = get_max_age(seen[url])
        if url in VALIDATED:
            assert "public" in seen[url]["Cache-Control"], url
            assert max_age == settings.CATALOGUE_PUBLIC_MAX_AGE, url
        else:
            assert max_age is None, url
            assert not seen[url].has_header("Expires"), url
            assert not seen[url].has_header("Last-Modified"), url
    assert settings.CATALOGUE_PUBLIC_MAX_AGE <= 300
    # Aggregates (which name no record) are fresh on every request too.
    for url in ("/insights/", "/api/v1/themes/"):
        response = visitor.get(url)
        assert get_max_age(response) is None and not response.has_header("Last-Modified"), url
    assert get_max_age(visitor.get("/sitemap.xml")) == settings.CATALOGUE_PUBLIC_MAX_AGE
