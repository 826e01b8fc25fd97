"""Request ids and structured logs: one JSON object per line on stdout, each with the id of
the request it belongs to, so every line of one request can be found from the id a user
quotes from an error page (or the X-Request-ID header).

Configured in settings.LOGGING (DJANGO_LOG_FORMAT=json|text).
"""

import contextvars
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from django.db import InterfaceError, OperationalError
from django.utils.encoding import escape_uri_path
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

logger = logging.getLogger("catalogue.requests")

# A load balancer's id is kept so its logs and ours line up; anything else (too long, spaces,
# quotes, control characters) could forge or break log lines and is replaced.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Values of query parameters with names like these are never written to the logs. The
# catalogue's own parameters (filters, search words, page) are kept: they are what makes a
# list slow or a search fail.
SECRET_PARAMETER = re.compile(
    r"token|key|secret|pass|pwd|auth|sig|session|csrf|code|credential|otp|jwt|private",
    re.IGNORECASE,
)
MAX_QUERY_LENGTH = 1000
# What the database raises when it cannot answer now (down, restarting, overloaded, timed
# out); the request is answered 503 (catalogue/errors.py) rather than 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

_request_id = contextvars.ContextVar("request_id", default=None)


def current_request_id():
    """The id of the request being handled in this thread, or None outside a request."""
    return _request_id.get()


def loggable_query(query_string):
    if not query_string:
        return ""
    pairs = [
        (name, "REDACTED" if SECRET_PARAMETER.search(name) else value)
        for name, value in parse_qsl(query_string, keep_blank_values=True)
    ]
    return urlencode(pairs)[:MAX_QUERY_LENGTH]


class RequestIdMiddleware:
    """Give each request an id (X-Request-ID in and out) and log one line when it is answered.

    The line: method, path, query (secrets redacted), status, duration_ms and request_id;
    never cookies or other headers. INFO, or WARNING for a 5xx (an unhandled exception is
    logged separately, with its traceback, by django.request). A request answered 503
    because the database is unavailable carries the reason in `error`: that line is the one
    warning such a request logs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            self.log(request, response, started)
            return response
        finally:
            # A streamed response's body is sent after this: its duration_ms is the time to
            # the first byte, and lines logged while streaming carry no id.
            _request_id.reset(token)

    def log(self, request, response, started):
        fields = {
            "method": request.method,
            # Percent-encoded again, so a decoded newline cannot split a text log line.
            "path": escape_uri_path(request.path),
            "query": loggable_query(request.META.get("QUERY_STRING", "")),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        error = getattr(request, "database_error", None)
        if error:
            fields["error"] = error
        level = logging.WARNING if response.status_code >= 500 else logging.INFO
        logger.log(
            level,
            "%s %s %s %s ms",
            fields["method"],
            fields["path"],
            fields["status"],
            fields["duration_ms"],
            extra=fields,
        )


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request)."""

    def filter(self, record):
        record.request_id = current_request_id()
        return True


class UnhandledExceptionsOnly(logging.Filter):
    """For django.request: keep its record of an unhandled exception (a 500, with the
    traceback); drop the lines that repeat the request's own ("Not Found: /x", "Forbidden
    (Permission denied): /x", with a traceback of the expected exception), and a database
    outage's traceback: that is logged as one warning on the request's line instead."""

    def filter(self, record):
        if not record.exc_info or getattr(record, "status_code", 500) < 500:
            return False
        return not isinstance(record.exc_info[1], DATABASE_UNAVAILABLE)


class SuspiciousAsWarning(logging.Filter):
    """For the django.security loggers of bad requests (too many fields, a forbidden admin
    lookup): Django logs each as an ERROR with a traceback, although the client is answered a
    correct 400 and nothing is wrong with the server. A scanner sending thousands would fill
    the logs, and bury real errors: each becomes one WARNING line naming what was refused."""

    def filter(self, record):
        exception = record.exc_info[1] if record.exc_info else None
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        if exception is not None:
            record.msg, record.args = f"{type(exception).__name__}: %s", (exception,)
        record.exc_info = record.exc_text = record.stack_info = None
        return True


# Each line's own fields, in order, as logging.LogRecord names them and as the line does.
LINE_FIELDS = {
    "asctime": "time",
    "levelname": "level",
    "name": "logger",
    "message": "message",
    "request_id": "request_id",
}
# Extras not written: Django's request object (its repr has the unredacted query string),
# and any named like a field every line has, which they would otherwise write over.
DROPPED_ATTRIBUTES = frozenset({"request", *LINE_FIELDS.values(), "exception", "stack"})


class JSONFormatter(JsonFormatter):
    """One JSON object per line (python-json-logger): time (ISO 8601, UTC), level, logger,
    message, request_id, the record's extra fields, and `exception` (the traceback as text)
    when there is one."""

    def __init__(self):
        super().__init__(
            list(LINE_FIELDS),
            rename_fields={**LINE_FIELDS, "exc_info": "exception", "stack_info": "stack"},
            reserved_attrs=[*RESERVED_ATTRS, *DROPPED_ATTRIBUTES],
            json_ensure_ascii=False,
        )

    def formatTime(self, record, datefmt=None):
        return (
            datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )


class TextFormatter(logging.Formatter):
    """The development format: readable, with the request id."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record):
        record.__dict__.setdefault("request_id", None)
        return super().format(record)
