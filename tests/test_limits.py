"""Limits on what a few anonymous clients can take (catalogue/limits.py): per-client rates on
pages, the API and exports, and a cap on exports running at once in one process.

The requests are sent as a browser or script sends them, from distinct addresses; the rates
are those of the settings, made small here so that a test reaches them in a few requests.
"""

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client

from tests.admin_support import client_for, member_of

pytestmark = pytest.mark.django_db

LIMITS = {"pages": "5/min", "api": "3/min", "exports": "2/hour"}


@pytest.fixture
def limited(settings, seed_catalogue):
    settings.CATALOGUE_RATE_LIMITS = LIMITS
    return settings


def client(address):
    client = Client(REMOTE_ADDR=address)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize(
    ("kind", "path", "allowed"),
    [
        ("pages", "/initiatives/?q=housing", 5),
        ("api", "/api/v1/initiatives/", 3),
        ("exports", "/initiatives/export.csv", 2),
    ],
)
def test_a_client_past_its_rate_gets_429_with_retry_after(limited, kind, path, allowed):
    limited.CATALOGUE_MAX_CONCURRENT_EXPORTS = 1
    visitor = client("203.0.113.10")
    for _ in range(allowed):
        response = visitor.get(path)
        assert response.status_code == 200, response.content[:300]
        if response.streaming:
            b"".join(response.streaming_content)
    refused = visitor.get(path)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= (3600 if kind == "exports" else 60)
    assert refused["Cache-Control"] == "no-store"
    if kind == "api":
        assert refused.json()["detail"].startswith("Too many requests")
    else:
        assert b"Sorry, too many requests" in refused.content
    # Another visitor is not affected.
    assert client("203.0.113.11").get(path).status_code == 200


def test_each_kind_counts_separately(limited):
    visitor = client("203.0.113.20")
    for _ in range(5):
        assert visitor.get("/").status_code == 200
    assert visitor.get("/").status_code == 429
    assert visitor.get("/api/v1/initiatives/").status_code == 200


def test_behind_the_balancer_the_visitor_is_the_forwarded_address(limited):
    limited.TRUSTED_PROXY_COUNT = 1
    balancer = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(5):
        assert balancer.get("/", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 200
    assert balancer.get("/", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    # The same balancer, another visitor.
    assert balancer.get("/", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200


def test_signed_in_staff_are_not_limited(limited):
    editor = client_for(member_of("Editors", "edna"))
    for _ in range(8):
        assert editor.get("/initiatives/").status_code == 200


def test_health_checks_and_static_files_are_not_limited(limited):
    visitor = client("203.0.113.30")
    for _ in range(8):
        assert visitor.get("/healthz").status_code == 200


def test_rates_can_be_switched_off(settings, seed_catalogue):
    settings.CATALOGUE_RATE_LIMITS = {"pages": None, "api": None, "exports": None}
    visitor = client("203.0.113.40")
    for _ in range(20):
        assert visitor.get("/").status_code == 200


def test_exports_past_the_cap_get_429_until_one_finishes(settings, seed_catalogue):
    settings.CATALOGUE_MAX_CONCURRENT_EXPORTS = 1
    first = client("203.0.113.50").get("/initiatives/export.csv")
    assert first.status_code == 200
    # Still streaming: a second export, from anyone, waits.
    busy = client("203.0.113.51").get("/initiatives/export.json")
    assert busy.status_code == 429
    assert busy["Retry-After"] == str(settings.CATALOGUE_EXPORT_RETRY_AFTER)
    assert b"Other downloads are being prepared" in busy.content
    # A page is not an export: it is served meanwhile.
    assert client("203.0.113.51").get("/initiatives/").status_code == 200
    body = b"".join(first.streaming_content)
    assert body.count(b"\r\n") > 10
    second = client("203.0.113.51").get("/initiatives/export.json")
    assert second.status_code == 200
    # A client that goes away before the body: the server closes the response, which frees
    # its place. (Closed as the test client closes responses, keeping the test's connection.)
    request_finished.disconnect(close_old_connections)
    try:
        second.close()
    finally:
        request_finished.connect(close_old_connections)
    assert client("203.0.113.52").get("/initiatives/export.csv").status_code == 200


def test_a_head_request_for_an_export_frees_its_place(settings, seed_catalogue):
    settings.CATALOGUE_MAX_CONCURRENT_EXPORTS = 1
    visitor = client("203.0.113.60")
    for _ in range(3):
        response = visitor.head("/initiatives/export.csv")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b""  # and the server closes it
