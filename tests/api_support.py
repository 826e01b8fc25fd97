"""Helpers shared by the API tests (tests/test_api_*.py): the paths, a JSON GET that
checks status and content type, and the catalogue the query-count tests measure."""

from catalogue.vocabularies import BY_PARAM
from tests.factories import (
    MetricFactory,
    tagged_catalogue,
)

TAXONOMIES = {param: v.model for param, v in BY_PARAM.items()}

API = "/api/v1/"
LIST = "/api/v1/initiatives/"
HTML_LIST = "/initiatives/"
TAXONOMY_PATHS = [f"{API}{param}s/" for param in TAXONOMIES]


def get(client, url, data=None, status=200):
    response = client.get(url, data)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    if status >= 400:
        # Every error names its request, as the X-Request-ID header does (catalogue/errors.py).
        assert body.pop("request_id") == response["X-Request-ID"]
    return body


def slugs(body):
    return [item["slug"] for item in body["results"]]


def twice_measured_catalogue(count):
    """The list tests' tagged catalogue, with a second metric each: what N+1 feeds on."""
    for initiative in tagged_catalogue(count):
        MetricFactory(initiative=initiative, label="Time saved")
