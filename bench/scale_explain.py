"""The SQL behind a cold page: each URL requested once with the cache cleared, its queries
listed slowest first, and the slowest one (or every one over SCALE_EXPLAIN_MS, default 200)
run again under EXPLAIN (ANALYZE, BUFFERS). For bench/scale.sh; same settings and invocation
as bench/coldpath.py:

    ... .venv/bin/python bench/scale_explain.py URL [URL ...]
"""

import os
import sys
import time

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from catalogue import search  # noqa: E402

THRESHOLD_MS = float(os.environ.get("SCALE_EXPLAIN_MS", "200"))


def main(urls):
    client = Client()
    for url in urls:
        client.get(url)  # imports, templates, the connection
        cache.clear()
        search.forget()  # the process's memo of search matches, too
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
            if response.streaming:
                for _ in response.streaming_content:
                    pass
        total = (time.perf_counter() - started) * 1000
        queries = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
        sql_ms = sum(float(q["time"]) for q in queries) * 1000
        print(
            f"=== {response.status_code} {url}: {total:.0f} ms in all, {len(queries)} queries, "
            f"{sql_ms:.0f} ms in SQL"
        )
        for q in queries[:3]:
            print(f"  {float(q['time']) * 1000:8.0f} ms  {q['sql'][:300]}")
        slow = [q for q in queries if float(q["time"]) * 1000 >= THRESHOLD_MS] or queries[:1]
        for q in slow:
            if not q["sql"].lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            ms = float(q["time"]) * 1000
            print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) of the {ms:.0f} ms query:")
            print(q["sql"])
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                for (line,) in cursor.fetchall():
                    print(line)
        print(flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
