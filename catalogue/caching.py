"""Caching keyed by the catalogue version, so nothing cached is ever stale.

CatalogueVersion.number changes (by PostgreSQL triggers) on every write to anything a public
page shows. A key built from it names one state of the catalogue: a write makes new keys,
and the old entries are simply never read again (they expire).
"""

import functools
import hashlib
import threading

from django.conf import settings
from django.core.cache import cache, caches
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.cache import patch_cache_control
from django.views.decorators.http import conditional_page

from catalogue.models import CatalogueVersion

TTL = 10 * 60


# Values read once per request by many parts of a page (the catalogue version, the
# vocabularies): kept for the request's thread from request_started to request_finished.
_request = threading.local()


def _begin_request(**kwargs):
    _request.memo = {}


def _end_request(**kwargs):
    _request.memo = None


def connect_signals():
    """Start and end each request's memo (apps.py)."""
    request_started.connect(_begin_request, dispatch_uid="catalogue-request-memo-begin")
    request_finished.connect(_end_request, dispatch_uid="catalogue-request-memo-end")


def per_request(name, compute):
    """compute(), once per request; every time outside one (a command, a shell)."""
    memo = getattr(_request, "memo", None)
    if memo is None:
        return compute()
    if name not in memo:
        memo[name] = compute()
    return memo[name]


def forget(name):
    """Drop a value per_request() kept, after this request changed what it was read from."""
    memo = getattr(_request, "memo", None)
    if memo is not None:
        memo.pop(name, None)


def _read_version():
    # Always the primary's: a read replica is used only when it has replayed this version
    # (catalogue/routing.py), so it must not be read from a replica.
    # Every request reads it: one plain statement, without the ORM's cost of building it.
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(VERSION_SQL)
        row = cursor.fetchone()
    return row[0] if row else None


VERSION_SQL = f"SELECT number FROM {CatalogueVersion._meta.db_table} WHERE id = 1"


def current_version(request=None):
    """The catalogue version, read once per request (so one page's cached parts all describe
    the same state); None where it is not kept."""
    if connection.vendor != "postgresql":
        return None  # the version is kept by PostgreSQL triggers only
    if request is not None and hasattr(request, "catalogue_version"):
        return request.catalogue_version
    version = per_request("version", _read_version)
    if request is not None:
        request.catalogue_version = version
    return version


def key(request, kind, *parts):
    """A cache key for `parts` in the current catalogue, or None when there is no version."""
    version = current_version(request)
    if version is None:
        return None
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"catalogue:{kind}:{version}:{digest}"


def query_key(filterset, kind, *extra):
    """A cache key for this filter query (sort and page aside) in the current catalogue."""
    return key(filterset.request, kind, filterset.applied_key(), *extra)


def cached(key, compute):
    """compute(), through the cache when there is a key (there is none on SQLite)."""
    if key is None:
        return compute()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TTL)
    return value


def cached_each(keys, compute, alias="default"):
    """{name: value} for `keys` ({name: cache key}): each from the cache `alias` where it is
    there, the rest from compute([names missing]) -> {name: value}, which are then cached.
    Without keys (SQLite) everything is computed."""
    names = list(keys)
    if not names or any(key is None for key in keys.values()):
        return compute(names)
    store = caches[alias]
    found = store.get_many(list(keys.values()))
    values = {name: found[key] for name, key in keys.items() if key in found}
    missing = [name for name in names if name not in values]
    if missing:
        computed = compute(missing)
        store.set_many({keys[name]: value for name, value in computed.items()}, TTL)
        values.update(computed)
    return values


class VersionMemo:
    """Values kept in this process for one catalogue version, read in bulk as needed: for
    small facts many requests ask again (an organisation's name and slug), which the cache
    would unpickle each time. All are dropped when the version moves, and past `limit`
    entries. Without a version (SQLite) nothing is kept."""

    def __init__(self, limit=50_000):
        self.limit = limit
        self._kept = (None, {})

    def get_many(self, request, names, compute):
        """{name: value} for `names`, those not kept from compute([missing]) -> {name: value}
        (a name it leaves out has no value)."""
        version = current_version(request)
        if version is None:
            return compute(list(names))
        kept_version, values = self._kept
        if kept_version != version or len(values) > self.limit:
            values = {}
            self._kept = (version, values)
        missing = [name for name in names if name not in values]
        if missing:
            values.update(compute(missing))
        return {name: values[name] for name in names if name in values}

    def clear(self):
        self._kept = (None, {})


def public_output(view):
    """For the feed and sitemaps: shared caches may keep them CATALOGUE_PUBLIC_MAX_AGE
    seconds, and a client re-asking gets a 304 when the body is the same.

    The validator is a hash of the body (Django's conditional_page), so it changes only when
    what the public sees changes: editing a draft, which changes the catalogue version, does
    not show in it.
    """
    conditional = conditional_page(view)

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = conditional(request, *args, **kwargs)
        patch_cache_control(response, public=True, max_age=settings.CATALOGUE_PUBLIC_MAX_AGE)
        return response

    return wrapped
