"""Limits that keep a few anonymous clients from exhausting the server.

- **Per-client rates** (RateLimitMiddleware): each visitor (catalogue.security.client_ip)
  may make so many page requests, API requests and exports in a period; past it, 429 with
  Retry-After. Counted with Django REST framework's throttling, in the default cache: per
  process unless DJANGO_REDIS_URL shares one cache between app servers, so without Redis the
  effective limit is the rate times the number of processes. Staff signed in to the admin are
  not limited (django-axes guards the sign-in form itself).
- **Concurrent exports per process** (export_slot): a full export is seconds of CPU, and a
  process runs it on one of its few threads; past CATALOGUE_MAX_CONCURRENT_EXPORTS running at
  once, 429 with Retry-After instead of queueing behind them.

Slow clients (one header line every few seconds) are kept away from the workers by the
buffering proxy in front of them (ops/nginx.conf), not here: a worker thread that has started
reading a request is held until it arrives.
"""

import functools
import math
import re
import threading

from django.conf import settings
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

from catalogue import errors
from catalogue.security import client_ip

EXPORTS = {"initiative-export-csv", "initiative-export-json"}
UNLIMITED_PREFIXES = ("/static/", "/healthz", "/readyz")
# What Django's session keys look like (lowercase letters and digits, 32 of them).
SESSION_KEY = re.compile(r"[a-z0-9]{32}")


def kind_of(request):
    """Which rate a request counts against: "exports", "api" or "pages"."""
    if request.path.startswith("/api/"):
        return "api"
    return "exports" if request.path in export_paths() else "pages"


@functools.cache
def export_paths():
    """The exports' paths, reversed once: no URL resolving on every request."""
    return frozenset(reverse(name) for name in EXPORTS)


class ClientRate(SimpleRateThrottle):
    """DRF's throttle (a sliding window of request times in the cache), keyed by the
    visitor's address as the rest of the site sees it, one rate per kind of request."""

    def __init__(self, kind):
        self.scope = kind
        self.kind = kind
        super().__init__()

    def get_rate(self):
        return settings.CATALOGUE_RATE_LIMITS.get(self.kind)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.kind, "ident": client_ip(request) or "unknown"}


class RateLimitMiddleware:
    """429 with Retry-After for a visitor past their rate (settings.CATALOGUE_RATE_LIMITS).

    Placed after AuthenticationMiddleware, to let signed-in staff through, and before the
    views, so a refused request costs a cache lookup and nothing more.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(UNLIMITED_PREFIXES) and not _staff(request):
            throttle = ClientRate(kind_of(request))
            if throttle.rate and not throttle.allow_request(request, None):
                wait = throttle.wait()
                return too_many(request, math.ceil(wait) if wait else 1, "rate")
        return self.get_response(request)


def _staff(request):
    # Only a cookie that could be a session key is looked up: a public request without one
    # costs no query, and one with a forged cookie (a NUL, which PostgreSQL refuses) none.
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if not SESSION_KEY.fullmatch(key):
        return False
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


def too_many(request, retry_after, reason):
    context = {"reason": reason, "retry_after": retry_after}
    response = errors.error_response(request, 429, "429.html", context)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class ExportSlot:
    """One of this process's places for a running export, released when the response is
    closed: after its last byte, or when the client goes away mid-way."""

    def __init__(self, semaphore):
        self._semaphore = semaphore
        self._held = True

    def release(self):
        if self._held:
            self._held = False
            self._semaphore.release()

    def around(self, content):
        """`content`, an iterable of chunks, releasing the slot when the response closes
        it (a class, not a generator: a generator never started runs no `finally`)."""
        return _Releasing(content, self)


class _Releasing:
    def __init__(self, content, slot):
        self._content = iter(content)
        self._slot = slot

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._content)
        except BaseException:
            self._slot.release()
            raise

    def __del__(self):
        # A WSGI server always closes the response; this is for one dropped without closing.
        self._slot.release()

    def close(self):
        try:
            close = getattr(self._content, "close", None)
            if close is not None:
                close()
        finally:
            self._slot.release()


_exports = None
_exports_lock = threading.Lock()


def _semaphore():
    global _exports
    with _exports_lock:
        if _exports is None or _exports.limit != settings.CATALOGUE_MAX_CONCURRENT_EXPORTS:
            _exports = threading.BoundedSemaphore(settings.CATALOGUE_MAX_CONCURRENT_EXPORTS)
            _exports.limit = settings.CATALOGUE_MAX_CONCURRENT_EXPORTS
        return _exports


def export_slot():
    """A place for an export in this process, or None when all are taken."""
    semaphore = _semaphore()
    if not semaphore.acquire(blocking=False):
        return None
    return ExportSlot(semaphore)
