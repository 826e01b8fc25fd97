"""The facet index (catalogue/facet_index.py) gives exactly the counts, coverage and total of
the counting SQL, for random catalogues, random filter combinations and random writes, on
both databases; pages use it only for the catalogue version it was built from."""

import contextlib
import random
import threading

import pytest
from django.db import connection, transaction
from django.http import QueryDict
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalogue import facet_index, facets, insights
from catalogue.facet_index import FacetIndex
from catalogue.filters import InitiativeFilter
from catalogue.models import Driver, Initiative, Metric, Organisation, Partnership, Place, Theme
from tests.caches import clear_caches
from tests.factories import (
    COUNTRIES,
    DRIVERS,
    STAGES,
    THEMES,
    InitiativeFactory,
    MetricFactory,
    PartnershipFactory,
    random_catalogue,
    random_query,
    term,
)

pytestmark = pytest.mark.django_db
ON_POSTGRES = connection.vendor == "postgresql"
ROLES = [role for role, _ in Partnership.Role.choices]


def with_partners(rng):
    organisations = list(Organisation.objects.all())
    for initiative in Initiative.objects.all():
        for organisation in rng.sample(organisations, rng.randint(0, 3)):
            if organisation.pk != initiative.lead_organisation_id:
                PartnershipFactory(
                    initiative=initiative, organisation=organisation, role=rng.choice(ROLES)
                )


def query_with_organisations(rng):
    query = random_query(rng)
    slugs = list(Organisation.objects.values_list("slug", flat=True))
    if rng.random() < 0.4:
        query.setlist("organisation", rng.sample(slugs, rng.randint(1, 2)))
    if rng.random() < 0.3:
        query.setlist("role", rng.sample(["lead", *ROLES], rng.randint(1, 2)))
    if rng.random() < 0.2:
        query["find_organisation"] = rng.choice(["a", "Council", "e"])
    if rng.random() < 0.2:
        query["year_to"] = str(rng.randint(2012, 2024))
    return query


def both_ways(query):
    """(the SQL's counts, the index's counts) for one query."""
    filterset = InitiativeFilter(query, queryset=Initiative.objects.published())
    # _count would use the index itself on PostgreSQL ("sync"): force the SQL.
    with override_settings(CATALOGUE_FACET_INDEX="off"):
        with_sql = facets._count(filterset)
    return with_sql, facets._count_in(FacetIndex.build(), filterset)


def assert_same(query):
    with_sql, with_index = both_ways(query)
    assert with_index == with_sql, query.urlencode()
    assert_same_pages(query, FacetIndex.build())
    filterset = InitiativeFilter(query, queryset=Initiative.objects.published())
    with override_settings(CATALOGUE_FACET_INDEX="off"):
        figures = insights._count(filterset)
    with mock_current(FacetIndex.build()):
        assert insights._count(filterset) == figures, query.urlencode()


def assert_same_pages(query, index, size=4):
    """Every page of every sort the index orders holds the ids the list's SQL gives, in its
    order: walking the order forwards, backwards, and with the database ordering the ids."""
    for sort in facet_index.ORDERED_SORTS:
        sorted_query = query.copy()
        sorted_query["sort"] = sort
        filterset = InitiativeFilter(sorted_query, queryset=Initiative.objects.published())
        expected = list(filterset.qs.values_list("pk", flat=True))
        for offset in [*range(0, len(expected) + size, size), len(expected) + 3 * size]:
            page = expected[offset : offset + size]
            assert index.page(filterset, sort, offset, size) == page, (sort, offset)
            saved = facet_index.WALK_LIMIT
            facet_index.WALK_LIMIT = 0  # the database orders the few matching ids
            try:
                assert index.page(filterset, sort, offset, size) == page, (sort, offset)
            finally:
                facet_index.WALK_LIMIT = saved
    relevance = InitiativeFilter(query, queryset=Initiative.objects.published())
    assert index.page(relevance, "relevance", 0, size) is None


@contextlib.contextmanager
def mock_current(index):
    """Pages use this index whatever the version (on SQLite there is none)."""
    saved = facet_index.current
    facet_index.current = lambda request=None: index
    try:
        yield
    finally:
        facet_index.current = saved


@pytest.mark.parametrize("seed", range(5))
def test_the_index_counts_exactly_as_the_sql_does(seed):
    rng = random.Random(seed)
    random_catalogue(rng, size=30)
    with_partners(rng)
    for _ in range(6):
        assert_same(query_with_organisations(rng))
    assert_same(QueryDict())


@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), writes=st.lists(st.sampled_from(range(6)), max_size=4))
def test_the_index_agrees_after_random_writes(seed, writes):
    """Writes of every kind (publish, unpublish, retag, re-lead, a partner, raw SQL), then
    the index built afresh agrees with the SQL."""
    rng = random.Random(seed)
    # Each example is rolled back, which puts the catalogue version back too: nothing
    # cached under a version may outlive its example.
    clear_caches()
    with transaction.atomic():
        random_catalogue(rng, size=12)
        with_partners(rng)
        initiatives = list(Initiative.objects.all())
        for write in writes:
            initiative = rng.choice(initiatives)
            if write == 0:
                initiative.status = "archived"
                initiative.save()
            elif write == 1:
                initiative.status = "published"
                initiative.save()
            elif write == 2:
                initiative.themes.clear()
            elif write == 3:
                initiative.lead_organisation = rng.choice(list(Organisation.objects.all()))
                initiative.save()
            elif write == 4:
                Partnership.objects.filter(initiative=initiative).delete()
            else:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "UPDATE catalogue_initiative SET start_year = NULL WHERE id = %s",
                        [initiative.pk],
                    )
        for _ in range(3):
            assert_same(query_with_organisations(rng))
        transaction.set_rollback(True)


def test_an_empty_catalogue_counts_nothing():
    assert_same(QueryDict())
    assert_same(QueryDict("theme=cloud&organisation=nobody"))


@pytest.mark.skipif(not ON_POSTGRES, reason="the catalogue version is kept on PostgreSQL")
def test_pages_use_the_index_only_for_its_own_version(client, settings):
    InitiativeFactory(themes=["cloud"])
    client.get("/initiatives/?theme=cloud")
    index = facet_index._index
    assert index is not None and len(index.published) == 1
    InitiativeFactory(themes=["cloud"])  # a write moves the version
    response = client.get("/initiatives/?theme=cloud")
    assert response.context["total"] == 2
    assert facet_index._index is not index and len(facet_index._index.published) == 2
    # Off: always the SQL.
    settings.CATALOGUE_FACET_INDEX = "off"
    assert facet_index.current() is None


@pytest.mark.skipif(not ON_POSTGRES, reason="the catalogue version is kept on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_in_the_background_a_page_counts_with_sql_until_the_index_is_built(client, settings):
    settings.CATALOGUE_FACET_INDEX = "background"
    join_builds()  # an earlier test's build would hold the lock: this test's would not start
    facet_index.forget()
    InitiativeFactory(themes=["cloud"])
    started = set(threading.enumerate())
    assert client.get("/initiatives/").context["total"] == 1  # with SQL, and a build starts
    for thread in set(threading.enumerate()) - started:
        if thread.name == "facet-index":
            thread.join(10)
    index = facet_index._index
    assert index is not None and len(index.published) == 1
    assert client.get("/initiatives/").context["total"] == 1  # from the index
    InitiativeFactory(themes=["cloud"])
    # Behind now: the next page does not use the old index, whatever the build is doing.
    assert client.get("/initiatives/").context["total"] == 2
    join_builds()
    assert len(facet_index._index.published) == 2


def join_builds():
    for thread in threading.enumerate():
        if thread.name == "facet-index":
            thread.join(10)


def test_pages_past_the_last_served_are_refused_with_a_reason(client, settings):
    settings.CATALOGUE_PAGE_SIZE = 1
    settings.CATALOGUE_MAX_PAGE = 2
    InitiativeFactory.create_batch(4, themes=["cloud"])
    response = client.get("/initiatives/", {"theme": "cloud", "page": "4"})
    assert response.status_code == 200
    assert response.context["page_obj"].number == 2
    assert "Page 4 is not shown: only the first 2 pages of results are." in response.text
    assert "download every result" in response.text
    api = client.get("/api/v1/initiatives/", {"theme": "cloud", "page": "3"})
    assert api.status_code == 400
    assert "Only the first 2 pages" in api.json()["errors"]["page"][0]
    page = client.get("/api/v1/initiatives/", {"theme": "cloud", "page": "2"}).json()
    assert page["count"] == 4 and len(page["results"]) == 1


# -- refreshed from the change log (PostgreSQL, committed writes) ---------------------------


def random_write(rng, write):
    """One editor's (or a script's) write, committed on its own."""
    initiatives = list(Initiative.objects.order_by("pk"))
    organisations = list(Organisation.objects.order_by("pk"))
    initiative = rng.choice(initiatives)
    with transaction.atomic():
        if write == 0:
            initiative.status = rng.choice(["archived", "draft", "in-review"])
            initiative.save()
        elif write == 1:
            initiative.status = "published"
            initiative.save()
        elif write == 2:
            initiative.themes.clear()
        elif write == 3:
            initiative.themes.set(Theme.objects.filter(slug__in=rng.sample(THEMES, 2)))
            initiative.drivers.add(*Driver.objects.filter(slug__in=rng.sample(DRIVERS, 1)))
        elif write == 4:
            initiative.lead_organisation = rng.choice(organisations)
            initiative.save()
        elif write == 5:
            Partnership.objects.filter(initiative=initiative).delete()
        elif write == 6:
            link = {"organisation": rng.choice(organisations), "role": rng.choice(ROLES)}
            if not Partnership.objects.filter(initiative=initiative, **link).exists():
                PartnershipFactory(initiative=initiative, **link)
        elif write == 7:
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE catalogue_initiative SET start_year = %s, stage = %s WHERE id = %s",
                    [rng.choice([None, 2011, 2023]), rng.choice(STAGES), initiative.pk],
                )
        elif write == 8:
            InitiativeFactory(
                lead_organisation=rng.choice(organisations),
                themes=rng.sample(THEMES, 2),
                countries=rng.sample(COUNTRIES, 1),
                start_year=rng.randint(2010, 2024),
            )
        elif write == 9:
            initiative.delete()
        elif write == 10:
            MetricFactory(initiative=initiative)
            Metric.objects.filter(initiative=rng.choice(initiatives)).delete()
        else:
            initiative.places.set(
                Place.objects.filter(country__in=rng.sample(COUNTRIES, 2), region="")
            )


def assert_same_as_a_full_build(index, rng):
    full = FacetIndex.build()
    assert index.version == full.version
    assert index.published == full.published
    for query in [QueryDict(), *(query_with_organisations(rng) for _ in range(4))]:
        filterset = InitiativeFilter(query, queryset=Initiative.objects.published())
        with_index = facets._count_in(index, filterset)
        assert with_index == facets._count_in(full, filterset), query.urlencode()
        with override_settings(CATALOGUE_FACET_INDEX="off"):
            assert with_index == facets._count(filterset), query.urlencode()
            figures = insights._count(filterset)
        with mock_current(index):
            assert insights._count(filterset) == figures, query.urlencode()
        assert_same_pages(query, index)


refreshing = [
    pytest.mark.skipif(not ON_POSTGRES, reason="the change log is kept on PostgreSQL"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("committed_taxonomies", "versions_at_commit"),
]


def apply(marks):
    def decorate(test):
        for mark in reversed(marks):
            test = mark(test)
        return test

    return decorate


@apply(refreshing)
@hypothesis_settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    writes=st.lists(st.integers(0, 11), min_size=1, max_size=6),
    steps=st.integers(1, 3),
)
def test_an_index_refreshed_from_the_change_log_counts_as_a_full_build(seed, writes, steps):
    """Random committed writes of every kind, then the base index refreshed (in up to three
    steps, each from the last one's result) counts, totals and charts exactly as a full
    build and as the SQL."""
    rng = random.Random(seed)
    if Initiative.objects.count() < 8:
        random_catalogue(rng, size=10)
        with_partners(rng)
    base = FacetIndex.build()
    index = base
    for step in range(steps):
        for write in writes[step::steps]:
            random_write(rng, write)
        index = facet_index.refreshed(index)
        assert index is not None, "a full build was needed"
        assert index.base is base
        assert_same_as_a_full_build(index, rng)
    assert isinstance(index, facet_index.Refreshed)
    # Some writes touch no initiative (an organisation renamed): the version moves, no id is
    # logged, and `changed` may be empty.
    assert not index.changed & base.changed


@apply(refreshing)
def test_pages_refresh_the_index_after_a_save(client, settings):
    random_catalogue(random.Random(2), size=4)
    for mode in ("sync", "background"):
        settings.CATALOGUE_FACET_INDEX = mode
        facet_index.forget()  # a restart: the process has no index
        initiative = InitiativeFactory(themes=["cloud"])
        facet_index._rebuild()
        base = facet_index._index
        initiative.themes.set(Theme.objects.filter(slug="open-data"))
        # The first page after the save counts from the base and the change log, at once.
        cloud = client.get("/initiatives/?theme=cloud").context["total"]
        assert isinstance(facet_index._index, facet_index.Refreshed)
        assert facet_index._index.base is base
        assert facet_index.current() is facet_index._index
        assert cloud == len(base.by["theme"][str(term(Theme, "cloud").pk)]) - 1
        assert_same_as_a_full_build(facet_index._index, random.Random(1))


def assert_built_again_in_full(base, rng):
    """`base` cannot be refreshed: a process holding it builds its next index in full."""
    assert facet_index.refreshed(base) is None
    facet_index._index = base
    index = facet_index.current()
    assert index is not None and index is not base
    assert not isinstance(index, facet_index.Refreshed)
    assert_same_as_a_full_build(index, rng)


@apply(refreshing)
def test_a_restore_truncates_and_the_index_is_built_in_full():
    rng = random.Random(3)
    random_catalogue(rng, size=6)
    base = FacetIndex.build()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE catalogue_metric")
    assert_built_again_in_full(base, rng)


@apply(refreshing)
def test_a_log_pruned_past_the_index_means_a_full_build():
    rng = random.Random(4)
    random_catalogue(rng, size=6)
    base = FacetIndex.build()
    random_write(rng, 7)
    random_write(rng, 2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT catalogue_prune_changes(%s)", [base.version + 1])
    assert_built_again_in_full(base, rng)


@apply(refreshing)
def test_too_many_changes_mean_a_full_build(monkeypatch):
    rng = random.Random(5)
    random_catalogue(rng, size=6)
    base = FacetIndex.build()
    monkeypatch.setattr(facet_index, "REFRESH_LIMIT", 1)
    random_write(rng, 8)  # a new initiative: two ids with the one it replaces in the log
    random_write(rng, 9)
    assert facet_index.refreshed(base) is None


@apply(refreshing)
def test_after_a_restart_the_index_is_built_in_full_then_refreshed():
    rng = random.Random(6)
    random_catalogue(rng, size=6)
    facet_index.current()
    random_write(rng, 7)  # an UPDATE: always a write
    assert isinstance(facet_index.current(), facet_index.Refreshed)
    facet_index.forget()  # a new process: nothing to refresh from
    index = facet_index.current()
    assert index is not None and not isinstance(index, facet_index.Refreshed)
    assert_same_as_a_full_build(index, rng)
    random_write(rng, 0)
    index = facet_index.current()
    assert isinstance(index, facet_index.Refreshed)
    assert_same_as_a_full_build(index, rng)
