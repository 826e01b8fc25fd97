"""Several app servers sharing one Redis cache (DJANGO_REDIS_URL), against a real Redis.

Cached parts are keyed by the catalogue version PostgreSQL keeps, so what one server cached
serves the others, and a write anywhere makes every server compute afresh.
"""

import re
import shutil
import subprocess
import time

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from catalogue.models import Initiative
from tests.factories import DraftFactory, InitiativeFactory
from tests.support import free_port, require

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="cached parts are keyed on PostgreSQL only"
    ),
]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = shutil.which("redis-server")
    require(server is not None, "redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                RedisCache(url, {}).get("ping")
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def shared_cache(settings, redis_url):
    # As catalogue/settings.py with DJANGO_REDIS_URL: the results' cache in the same Redis.
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    settings.CACHES = {"default": redis, "summaries": redis}
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


def results(response):
    return re.findall(r'href="/initiatives/(initiative-\d+)/"', response.text)


def catalogue_keys(cache):
    return sorted(key.decode() for key in cache._cache.get_client().keys("*catalogue:*"))


def test_one_server_computes_and_another_reuses(client, shared_cache, django_assert_num_queries):
    InitiativeFactory.create_batch(3, themes=["cloud"])
    first = client.get("/initiatives/", {"theme": "cloud"})
    assert first.context["page_obj"].paginator.count == 3
    stored = catalogue_keys(shared_cache)
    assert stored, "nothing was cached in Redis"

    # A second app server: its own connection to the same Redis, nothing in its memory.
    other = RedisCache(shared_cache._servers[0], {})
    assert other.get(stored[0].split(":", 2)[-1]) is not None
    caches["default"].close()
    with django_assert_num_queries(1):  # only the catalogue version: the rest from Redis
        again = client.get("/initiatives/", {"theme": "cloud"})
    assert results(again) == results(first) != []


def test_a_write_is_seen_by_every_server_at_once(client, shared_cache):
    InitiativeFactory.create_batch(2, themes=["cloud"])
    assert client.get("/initiatives/", {"theme": "cloud"}).context["page_obj"].paginator.count == 2
    draft = DraftFactory(themes=["cloud"], title="Published while cached")
    draft.status = Initiative.Status.PUBLISHED
    draft.save()
    fresh = client.get("/initiatives/", {"theme": "cloud"})
    assert fresh.context["page_obj"].paginator.count == 3
    assert "Published while cached" in fresh.text


def test_a_cached_case_study_changes_when_it_is_edited(client, shared_cache):
    initiative = InitiativeFactory(summary="Before the edit.")
    url = f"/initiatives/{initiative.slug}/"
    assert "Before the edit" in client.get(url).text
    assert "Before the edit" in client.get(url).text  # now from Redis
    initiative.summary = "After the edit."
    initiative.save()
    page = client.get(url).text
    assert "After the edit" in page and "Before the edit" not in page
