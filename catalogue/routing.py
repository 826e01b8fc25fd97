"""Read replicas: which database a query goes to (DATABASE_REPLICA_URLS, docs/scaling.md).

Writes and migrations go to the primary ("default"), always. Reads go to a replica only while
a public request is being answered: ReplicaMiddleware marks a request public when it is a GET
or HEAD outside the admin, not a preview, from a visitor who is not signed in; a request
that has written anything reads from the primary from then on. Everything else (the admin,
previews, editors, commands, shells, the health checks) reads from the primary.

A replica is used for a request only if it has replayed the primary's current catalogue
version (catalogue/caching.py, read from the primary once per request anyway): the
CatalogueVersion row is written in the same transaction as whatever it describes, so a
replica at that version or later shows every write the primary had committed when the
request began. One query per request on the replica checks it. A replica that is behind is
not waited for: the request is answered from the primary. A replica that cannot be reached
is left alone for DJANGO_REPLICA_RETRY seconds (one warning per outage and process), and
the request is answered from the primary.
"""

import contextlib
import contextvars
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from catalogue.logs import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)


@dataclass
class RequestRouting:
    """Where one request's reads go: decided once, on its first routed read."""

    public: bool = False
    wrote: bool = False
    # The replica chosen for the request (None: the primary), once decided.
    decided: bool = False
    alias: str | None = None
    # Replicas this request found unreachable or behind (for the tests and the logs).
    skipped: dict = field(default_factory=dict)


_routing = contextvars.ContextVar("catalogue_routing", default=None)

# Replicas found unreachable: alias -> monotonic time before which it is not tried again.
_down = {}
_down_lock = threading.Lock()
_turn = itertools.count()


def replicas():
    return list(getattr(settings, "DATABASE_REPLICAS", ()))


def retry_seconds():
    return float(getattr(settings, "CATALOGUE_REPLICA_RETRY", 30))


def current():
    return _routing.get()


def mark_down(alias, error):
    """Skip `alias` for the retry interval; warn once per outage."""
    with _down_lock:
        first = alias not in _down
        _down[alias] = time.monotonic() + retry_seconds()
    if first:
        logger.warning(
            "Read replica %s unreachable, reading from the primary for %s s: %s",
            alias,
            retry_seconds(),
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
            extra={"replica": alias},
        )
    # A broken connection is not reused: the next attempt connects afresh.
    with contextlib.suppress(DatabaseError):
        connections[alias].close()


def mark_up(alias):
    with _down_lock:
        was_down = _down.pop(alias, None) is not None
    if was_down:
        logger.info("Read replica %s reachable again", alias, extra={"replica": alias})


def available(alias):
    with _down_lock:
        until = _down.get(alias)
    return until is None or time.monotonic() >= until


def primary_version():
    """The catalogue version on the primary, read once per request (catalogue/caching.py)."""
    from catalogue import caching

    return caching.current_version()


def replica_version(alias):
    from catalogue.models import CatalogueVersion

    return (
        CatalogueVersion.objects.using(alias).filter(pk=1).values_list("number", flat=True).first()
    )


def choose(state):
    """The replica for this request, or None for the primary; the first reachable replica
    in this request's turn decides (current: it; behind: the primary)."""
    aliases = replicas()
    if not aliases:
        return None
    wanted = primary_version()
    if wanted is None:
        return None  # no version to compare with (not PostgreSQL): never risk a stale read
    start = next(_turn) % len(aliases)
    for alias in aliases[start:] + aliases[:start]:
        if not available(alias):
            state.skipped[alias] = "down"
            continue
        try:
            found = replica_version(alias)
        except DATABASE_UNAVAILABLE as error:
            mark_down(alias, error)
            state.skipped[alias] = "down"
            continue
        mark_up(alias)
        if found is not None and found >= wanted:
            return alias
        state.skipped[alias] = "behind"
        return None
    return None


def read_alias():
    """Where a read goes now."""
    state = _routing.get()
    if state is None or not state.public or state.wrote:
        return DEFAULT_DB_ALIAS
    if not state.decided:
        # Decided before the replica is used, so the checks' own queries (explicitly
        # .using() a database) never come back here.
        state.decided = True
        state.alias = choose(state)
    return state.alias or DEFAULT_DB_ALIAS


class ReplicaRouter:
    """DATABASE_ROUTERS, when DATABASE_REPLICA_URLS names replicas."""

    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        state = _routing.get()
        if state is not None:
            state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # every database holds the same data

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


def is_public(request, view_func):
    """A request whose reads may come from a replica."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.path_info.lstrip("/").startswith(settings.ADMIN_URL):
        return False
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name and "preview" in match.url_name:
        return False
    user = getattr(request, "user", None)
    # Anyone signed in (every editor) reads their own writes: the primary.
    return not (user is not None and user.is_authenticated)


class ReplicaMiddleware:
    """Marks public requests (after AuthenticationMiddleware: it asks who is signed in).

    The marking lasts until the response is closed, so a streamed export reads from the
    replica too. A request whose replica failed under it (a 503 from a replica's error) is
    answered again from the primary, once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        state = RequestRouting()
        _routing.set(state)
        try:
            response = self.get_response(request)
            if self.replica_failed(request, response, state):
                mark_down(state.alias, request.database_error)
                del request.database_error
                state.skipped[state.alias] = "down"
                state.alias = None
                response = self.get_response(request)
        except BaseException:
            _routing.set(None)
            raise
        if response.streaming:
            response._resource_closers.append(lambda: _routing.set(None))
        else:
            _routing.set(None)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        state = _routing.get()
        if state is not None:
            state.public = is_public(request, view_func)

    @staticmethod
    def replica_failed(request, response, state):
        return (
            response.status_code == 503
            and getattr(request, "database_error", None)
            and state.alias is not None
            and not state.wrote
            and connections[state.alias].errors_occurred
        )
