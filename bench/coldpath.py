"""Time pages in-process with the cache cleared before each request (the uncached path).

`make bench` repeats one URL, so it measures pages served from the cache. This measures the
first request for a filter combination after a write. Run it against a seeded database:

    DJANGO_SETTINGS_MODULE=catalogue.settings PYTHONPATH=. DJANGO_SECRET_KEY=x \
    DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=testserver DJANGO_SECURE_SSL_REDIRECT=0 \
    DATABASE_URL=postgres://... .venv/bin/python bench/coldpath.py URL [URL ...]
"""

import statistics
import sys
import time

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.test import Client  # noqa: E402

RUNS = 8


def main(urls):
    client = Client()
    for url in urls:
        client.get(url)
        cold = []
        for _ in range(RUNS):
            cache.clear()
            started = time.perf_counter()
            status = client.get(url).status_code
            cold.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        for _ in range(RUNS * 2):
            client.get(url)
        warm = (time.perf_counter() - started) * 1000 / (RUNS * 2)
        print(f"{status} {url}: cold median {statistics.median(cold):.1f} ms, warm {warm:.1f} ms")
    print(f"Timed {len(urls)} pages, {RUNS} cold and {RUNS * 2} warm requests each.")


if __name__ == "__main__":
    main(sys.argv[1:])
