"""Count the SQL queries each benchmarked page runs, outside the load test.

Usage (with the same environment as the server, so the same database and settings):

    .venv/bin/python bench/querycount.py ceiling=/bench/ceiling/ list=/initiatives/?theme=cloud

Each URL is requested twice with Django's test client and the second request is measured
with CaptureQueriesContext: that is the steady state a long-running server worker sees. The
first request's count is reported too, in case it differs (a cold per-process cache).

Prints one JSON object a line: page, url, status, queries, first_request_queries and, for a
paginated list, matching (how many initiatives the filters select). Exits non-zero when a page
does not answer 200 or a list matches nothing, since loading such a page would measure the
wrong thing.
"""

import json
import os
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalogue.settings")


def measure(client, connection, url):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        client.get(url)
    with CaptureQueriesContext(connection) as steady:
        response = client.get(url)
    context = response.context
    paginator = context.get("paginator") if context is not None else None
    return {
        "status": response.status_code,
        "queries": len(steady),
        "first_request_queries": len(first),
        "matching": paginator.count if paginator is not None else None,
    }


def main(targets):
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    # Records the template context on each response, so the list's paginator can be read.
    setup_test_environment()
    client = Client(headers={"host": "127.0.0.1"})
    failures = []
    for target in targets:
        page, _, url = target.partition("=")
        result = {"page": page, "url": url, **measure(client, connection, url)}
        print(json.dumps(result), flush=True)
        if result["status"] != 200:
            failures.append(f"{page} ({url}) answered {result['status']}, not 200")
        elif result["matching"] == 0:
            failures.append(f"{page} ({url}) matches no initiative")
    for failure in failures:
        print(f"querycount: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
