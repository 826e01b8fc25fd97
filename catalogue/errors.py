"""Error responses: GOV.UK pages for people, JSON under /api/ for programs.

Nothing here reads the database, so every error page can be given while it is down. The 500
and 503 responses show the request id (catalogue/logs.py) for the user to quote.

When the database cannot be reached, a request is answered 503 with Retry-After, whatever
page it was for (catalogue pages, exports, the admin, the API): by the middleware when a view
or its template raised, by server_error when a middleware did. Pages cached under the
catalogue version (catalogue/caching.py) are not served meanwhile: the version is read from
the database first, so nothing cached can be shown to be current. The next request after the
database returns reconnects (CONN_HEALTH_CHECKS) and is served as usual.
"""

import logging
import sys

from django.conf import settings
from django.http import HttpResponseServerError, JsonResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render

from catalogue.logs import DATABASE_UNAVAILABLE, current_request_id

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30

DETAILS = {
    400: "The request could not be understood.",
    403: "You do not have permission to do this.",
    404: "Not found.",
    429: "Too many requests: try again after the number of seconds in Retry-After.",
    500: "Sorry, there is a problem with the service. Try again later.",
    503: "Sorry, the service is unavailable. Try again in a few minutes.",
}


def is_api(request):
    return request.path.startswith("/api/")


def error_response(request, status, template, context=None):
    if is_api(request):
        response = JsonResponse(
            {"detail": DETAILS[status], "request_id": current_request_id()}, status=status
        )
    else:
        context = {"request_id": current_request_id(), **(context or {})}
        response = render(request, template, context, status=status)
    if status >= 500:
        response["Cache-Control"] = "no-store"
    return response


def bad_request(request, exception=None):
    return error_response(request, 400, "400.html")


def permission_denied(request, exception=None):
    return error_response(request, 403, "403.html")


def page_not_found(request, exception=None):
    return error_response(request, 404, "404.html")


def server_error(request):
    """The 500 page; a 503 when the exception was the database being unavailable (raised by
    a middleware, so DatabaseUnavailableMiddleware did not see it)."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_UNAVAILABLE):
        return unavailable(request, error)
    try:
        return error_response(request, 500, "500.html")
    except Exception:
        # The page itself failed (a broken template?): say as much as can still be said.
        logger.exception("The 500 page could not be rendered")
        return HttpResponseServerError(
            f"{DETAILS[500]} Reference: {current_request_id()}",
            content_type="text/plain; charset=utf-8",
        )


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form sent without its cookie or token, or from elsewhere. The
    usual causes are an expired form and blocked cookies; say which is likelier."""
    if reason == REASON_NO_CSRF_COOKIE:
        cause = "cookies"
    elif reason.startswith(("Referer checking failed", "Origin checking failed")):
        cause = "origin"
    else:
        cause = "expired"
    return error_response(request, 403, "403_csrf.html", {"cause": cause})


def unavailable(request, error):
    """503 with Retry-After, and the reason on the request's log line (one warning)."""
    request.database_error = "database unavailable: " + first_line(error)
    response = error_response(request, 503, "503.html")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def first_line(error):
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


class DatabaseUnavailableMiddleware:
    """Answers 503, not 500, when a view or its template could not reach the database
    (with DEBUG off, as server_error does)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        # While debugging, Django's technical page says more (a database not migrated yet?).
        if settings.DEBUG or not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        return unavailable(request, exception)
