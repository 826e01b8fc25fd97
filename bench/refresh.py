"""The facet index after an editor's save: a full build against a refresh from the change log,
and the time from the save's commit to a public list whose count shows it.

Each round retags one published initiative as the admin's change form saves it (the record,
then its themes, in one transaction, with a revision), then asks for the list filtered by the
theme it gained, in-process, as a public visitor, and checks the count against SQL. Run it
against a migrated copy of a seeded database (it writes):

    DJANGO_SETTINGS_MODULE=catalogue.settings PYTHONPATH=. DJANGO_DEBUG=1 \
    DATABASE_URL=postgres://... .venv/bin/python bench/refresh.py [ROUNDS]
"""

import statistics
import sys
import time

import django

django.setup()

import reversion  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from catalogue import facet_index, facets  # noqa: E402
from catalogue.filters import InitiativeFilter  # noqa: E402
from catalogue.models import Initiative, Theme  # noqa: E402


def save(initiative, theme):
    """What the admin's change form does on save, in its one transaction."""
    with transaction.atomic(), reversion.create_revision():
        initiative.title = initiative.title.rstrip(" *") + " *"
        initiative.save()
        themes = [t for t in initiative.themes.all() if t.pk != theme.pk]
        initiative.themes.set([*themes[:1], theme])


def expected(theme):
    return Initiative.objects.published().filter(themes=theme).count()


def rounds(client, n, label):
    themes = list(Theme.objects.order_by("pk"))
    candidates = Initiative.objects.published().order_by("?")[: n * 3]
    waits, refreshes = [], []
    for i, initiative in enumerate(candidates[:n]):
        theme = themes[i % len(themes)]
        save(initiative, theme)
        started = time.perf_counter()
        response = client.get("/initiatives/", {"theme": theme.slug})
        waited = time.perf_counter() - started
        total = response.context["total"]
        assert total == expected(theme), (total, expected(theme))
        waits.append(waited)
        index = facet_index._index
        refreshes.append(index.built_in)
        cache.clear()
    print(
        f"{label}: save to a list counting it, median {statistics.median(waits) * 1000:.0f} ms,"
        f" max {max(waits) * 1000:.0f} ms; the index's build or refresh, median "
        f"{statistics.median(refreshes) * 1000:.0f} ms ({n} saves)"
    )


def main(n):
    setup_test_environment()  # responses keep their context (the list's total)
    settings.CATALOGUE_FACET_INDEX = "sync"
    client = Client()
    builds = []
    for _ in range(3):
        builds.append(facet_index.FacetIndex.build().built_in)
    print(
        f"full build: median {statistics.median(builds) * 1000:.0f} ms "
        f"({len(facet_index.FacetIndex.build().published)} published)"
    )
    client.get("/initiatives/")  # the process's index, at this version
    rounds(client, n, "refreshed from the change log")
    refreshed = facet_index.refreshed
    facet_index.refreshed = lambda index, using="default": None
    try:
        rounds(client, n, "rebuilt in full (the refresh off)")
    finally:
        facet_index.refreshed = refreshed
    many(client)


def count_time(index, query):
    filterset = InitiativeFilter(QueryDict(query), queryset=Initiative.objects.published())
    times = []
    for _ in range(5):
        started = time.perf_counter()
        facets._count_in(index, filterset)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def many(client):
    """A refresh's cost by the number of initiatives changed since the base, and one
    combination's counts from the base alone and from base and overlay."""
    query = "theme=open-data&theme=cloud&driver=technology"
    for changed in (100, 1000, 5000):
        base = facet_index.FacetIndex.build()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE catalogue_initiative SET start_year = start_year WHERE id IN "
                "(SELECT id FROM catalogue_initiative ORDER BY random() LIMIT %s)",
                [changed],
            )
        started = time.perf_counter()
        index = facet_index.refreshed(base)
        took = time.perf_counter() - started
        print(
            f"{changed} initiatives changed since the base: refresh {took * 1000:.0f} ms; "
            f"counts of {query}: base alone {count_time(base, query) * 1000:.1f} ms, "
            f"refreshed {count_time(index, query) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
