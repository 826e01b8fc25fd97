"""Time and peak memory of the CSV and JSON exports at catalogue scale, with baselines.

Every measurement runs in a fresh Python process, so its peak resident memory is its own. The
process sets Django up as production does (DJANGO_DEBUG=0), sends one warm-up request, then
calls catalogue.wsgi's application with a WSGI environ, as gunicorn would, and reads the
streamed body chunk by chunk, counting the bytes and keeping none of them. Measured:

- ids: the export's first step alone, reading the matching ids (the least any export does);
- list: one HTML list page for the same query, its cache cleared (what a visitor waits for);
- csv, json: the whole export.

Against a seeded PostgreSQL database (see bench/README.md, "Exports"):

    DATABASE_URL=postgres://postgres@127.0.0.1:55433/outputs_cli \\
        .venv/bin/python bench/export.py [QUERY]

QUERY is the list's query string, e.g. "theme=cloud&stage=pilot"; none exports everything.
BENCH_REPEATS (default 2) runs of each; the median is reported. The table is printed and kept
in bench/results/export.md.
"""

import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["ids", "list", "csv", "json"]
PRODUCTION = {
    "DJANGO_SECRET_KEY": "bench-only",
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "bench.example",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "catalogue.settings",
}


def peak_mb():
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def path_of(target, query):
    path = {"csv": "/initiatives/export.csv", "json": "/initiatives/export.json"}.get(
        target, "/initiatives/"
    )
    return f"{path}?{query}" if query else path


def environ(path):
    path_info, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "bench.example",
        "SERVER_PORT": "443",
        "HTTP_HOST": "bench.example",
        "HTTP_X_FORWARDED_PROTO": "https",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def serve(application, path):
    """(status, headers, bytes, seconds to the first body byte, seconds in all)."""
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    started = time.perf_counter()
    first = None
    size = 0
    body = application(environ(path), start_response)
    try:
        for chunk in body:
            if chunk and first is None:
                first = time.perf_counter() - started
            size += len(chunk)
    finally:
        if hasattr(body, "close"):
            body.close()
    return answer["status"], answer["headers"], size, first, time.perf_counter() - started


def measure(target, query):
    """One measurement, in this (fresh) process; prints one JSON line."""
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.wsgi import get_wsgi_application
    from django.http import QueryDict
    from django.test import RequestFactory

    from catalogue.exports import matching_ids

    application = get_wsgi_application()
    # Warm-up: imports, templates, the database connection; a query that matches nothing.
    serve(application, path_of(target, "year_from=2100"))
    cache.clear()
    before = peak_mb()
    if target == "ids":
        request = RequestFactory().get("/initiatives/export.csv", data=QueryDict(query))
        started = time.perf_counter()
        _, ids = matching_ids(request)
        seconds = time.perf_counter() - started
        result = {"status": "200 OK", "rows": len(ids), "bytes": 0, "first": None}
    else:
        status, headers, size, first, seconds = serve(application, path_of(target, query))
        rows = headers.get("X-Result-Count")
        result = {"status": status, "rows": int(rows) if rows else None, "bytes": size}
        result["first"] = first
    result.update(target=target, seconds=seconds, rss_before=before, rss_peak=peak_mb())
    print(json.dumps(result))


def main(query):
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a seeded PostgreSQL database (see the docstring).")
    repeats = int(os.environ.get("BENCH_REPEATS", "2"))
    env = {**PRODUCTION, **os.environ, "PYTHONPATH": str(ROOT)}
    runs = {target: [] for target in TARGETS}
    for repeat in range(repeats):
        for target in TARGETS:
            out = subprocess.run(
                [sys.executable, __file__, "--measure", target, query],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            assert result["status"].startswith("200"), result
            runs[target].append(result)
            print(f"run {repeat + 1}/{repeats} {target}: {result}", file=sys.stderr)
    report(query, runs)


def report(query, runs):
    def median(target, key):
        return statistics.median(run[key] for run in runs[target])

    rows = runs["csv"][0]["rows"]
    base_ids, base_list = median("ids", "seconds"), median("list", "seconds")
    lines = [
        f"Export of {rows:,} initiatives (query: `{query or 'none'}`), "
        f"median of {len(runs['csv'])} runs, each in a fresh process.",
        "",
        "| what | time | first byte | size | peak RSS | RSS after warm-up | "
        "x ids | x list page | per record |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for target in TARGETS:
        seconds = median(target, "seconds")
        first = [run["first"] for run in runs[target] if run["first"] is not None]
        size = median(target, "bytes")
        lines.append(
            f"| {target} | {seconds:.2f} s | "
            f"{f'{statistics.median(first) * 1000:.0f} ms' if first else '-'} | "
            f"{f'{size / 1e6:.1f} MB' if size else '-'} | "
            f"{median(target, 'rss_peak'):.0f} MB | {median(target, 'rss_before'):.0f} MB | "
            f"{seconds / base_ids:.1f} | {seconds / base_list:.1f} | "
            f"{f'{seconds / rows * 1e6:.0f} µs' if target in ('csv', 'json') else '-'} |"
        )
    text = "\n".join(lines)
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "export.md").write_text(text + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "")
