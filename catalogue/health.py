"""Health checks for load balancers: /healthz (the process is up) and /readyz (it can serve).

Answered by a middleware placed before host validation and the HTTPS redirect: a
load balancer probes by IP address over plain HTTP, which ALLOWED_HOSTS and
SECURE_SSL_REDIRECT would otherwise turn into a 400 or a 301.
"""

import json
import logging

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse

logger = logging.getLogger(__name__)

# Once this process has seen every migration applied it stays so: a deploy that adds one
# starts new processes, which check again.
_migrated = False


def readiness():
    """(ready, {check: "ok" or what is wrong})."""
    global _migrated
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as error:
        logger.warning("readyz: database unreachable: %s", error)
        return False, {"database": "unreachable"}
    if not _migrated:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        _migrated = not pending
    checks["migrations"] = "ok" if _migrated else "pending"
    return _migrated, checks


def respond(status, body):
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return respond(200, {"status": "ok"})
        if request.path == "/readyz":
            ready, checks = readiness()
            return respond(
                200 if ready else 503, {"status": "ok" if ready else "unavailable", **checks}
            )
        return self.get_response(request)
