"""The facet index's build time and memory in one process (docs/scaling.md, memory per worker).

Run against a seeded database, with the server's environment:

    DJANGO_SETTINGS_MODULE=catalogue.settings PYTHONPATH=. DJANGO_SECRET_KEY=x \
    DATABASE_URL=postgres://... .venv/bin/python bench/index_memory.py

Prints the published initiatives, the build's time, the process's resident memory before, after
one build and after a second one (the first dropped), and the bitmaps' and orders' bytes.
"""

import gc
import time

import django

django.setup()

from catalogue.facet_index import FacetIndex  # noqa: E402


def rss_mb():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def main():
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    first = FacetIndex.build()
    built_in = time.perf_counter() - started
    gc.collect()
    after = rss_mb()
    second = FacetIndex.build()
    del first
    gc.collect()
    print(
        f"{len(second.published):,} published; build {built_in:.2f} s; RSS {before:.0f} MB "
        f"before, +{after - before:.0f} MB after one build, {rss_mb():.0f} MB after a second; "
        f"bitmaps and orders {second.memory() / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
