"""How long an editor's save waits behind another writer's open transaction.

One thread opens a transaction, saves one initiative and keeps the transaction open for
HOLD seconds; meanwhile another thread (its own connection) saves a different initiative,
as the admin does (`Initiative.save()`, autocommit). Prints the second save's time alone and
behind the open transaction, and the catalogue version before and after. Run it against a
migrated database holding at least two initiatives (e.g. `manage.py loaddata
fixtures/catalogue.json`):

    DJANGO_SETTINGS_MODULE=catalogue.settings PYTHONPATH=. DJANGO_DEBUG=1 \
    DATABASE_URL=postgres://... .venv/bin/python bench/writers.py
"""

import statistics
import threading
import time

import django

django.setup()

from django.db import connections, transaction  # noqa: E402

from catalogue.models import CatalogueVersion, Initiative  # noqa: E402

HOLD = 2.0
RUNS = 5


def version():
    return CatalogueVersion.objects.get(pk=1).number


def save(pk):
    started = time.perf_counter()
    initiative = Initiative.objects.get(pk=pk)
    initiative.save()
    return time.perf_counter() - started


def long_transaction(pk, opened):
    try:
        with transaction.atomic():
            Initiative.objects.get(pk=pk).save()
            opened.set()
            time.sleep(HOLD)
    finally:
        connections.close_all()


def main():
    first, second = Initiative.objects.order_by("pk").values_list("pk", flat=True)[:2]
    alone = [save(second) for _ in range(RUNS)]
    behind = []
    for _ in range(RUNS):
        before = version()
        opened = threading.Event()
        holder = threading.Thread(target=long_transaction, args=(first, opened))
        holder.start()
        opened.wait()
        behind.append(save(second))
        holder.join()
        after = version()
        assert after >= before + 2, (before, after)
    print(f"a save alone: median {statistics.median(alone) * 1000:.1f} ms")
    print(
        f"a save while another transaction that wrote stays open {HOLD:.0f} s: "
        f"median {statistics.median(behind) * 1000:.1f} ms, max {max(behind) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
