"""Relevance (title matches, then summary matches, then the rest, newest first in each) and
the list's fast path for common words (catalogue/search.py, migration 0015): the same
matches as `search_vector @@ websearch_to_tsquery`, the same order from the narrow copies as
from the sorted SQL, on both databases where both apply."""

import random
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.utils import timezone
from pyroaring import BitMap

from catalogue import search
from catalogue.filters import InitiativeFilter
from catalogue.models import Initiative
from tests.factories import InitiativeFactory, OrganisationFactory, PartnershipFactory

pytestmark = pytest.mark.django_db
ON_POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="the narrow copies are PostgreSQL's")

QUERIES = [
    "housing",
    "repairs",
    "housing repairs",
    '"housing repairs"',
    "housing -repairs",
    "chatbot or repairs",
    "council",
    "acme",
    "the",
    "nothing-matches-this",
    "&|:*",
]
WORDS = ["housing", "repairs", "chatbot", "council", "allocations", "bins", "tenants"]


def ranked(query, **extra):
    data = QueryDict(mutable=True)
    data.update({"q": query, **extra})
    filterset = InitiativeFilter(data, queryset=Initiative.objects.published())
    return list(filterset.qs.values_list("pk", flat=True))


def phrase(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


@pytest.fixture
def catalogue():
    """Initiatives with the searched words spread over titles, summaries, narratives and
    organisation names, published at different times (some at the same second), and a draft."""
    rng = random.Random(17)
    now = timezone.now().replace(microsecond=0)
    made = []
    for n in range(60):
        initiative = InitiativeFactory(
            title=f"{phrase(rng, rng.randint(0, 2))} project {n}",
            summary=f"{phrase(rng, rng.randint(0, 3))} summary.",
            approach=phrase(rng, rng.randint(0, 4)),
            lessons=phrase(rng, rng.randint(0, 2)),
            published_at=now - timedelta(days=rng.randint(0, 20)),
        )
        made.append(initiative)
    PartnershipFactory(initiative=made[3], organisation=OrganisationFactory(name="Acme Housing"))
    InitiativeFactory(
        title="Draft housing repairs", status="draft", published_at=None, summary="Housing."
    )
    return made


def expected_order(query):
    """rank()'s order computed here, from what each initiative says: the SQLite fallback's
    rule (all the positive words in the title, else in the summary)."""
    positive = [t.text.lower() for group in search.parse(query) for t in group if not t.negated]
    rows = Initiative.objects.published().filter(pk__in=ranked(query))

    def tier(initiative):
        if all(word in initiative.title.lower() for word in positive):
            return 3
        if all(word in initiative.summary.lower() for word in positive):
            return 2
        return 1

    key = lambda i: (-tier(i), -i.published_at.timestamp(), i.pk)  # noqa: E731
    return [i.pk for i in sorted(rows, key=key)]


@pytest.mark.parametrize("query", ["housing", "repairs", "chatbot", "housing repairs"])
def test_relevance_is_title_then_summary_then_the_rest_newest_first(catalogue, query):
    assert ranked(query) == expected_order(query)
    assert ranked(query)  # the words are there


def test_a_title_match_outranks_a_newer_summary_match():
    old = InitiativeFactory(
        title="Chatbot for repairs", published_at=timezone.now() - timedelta(days=9)
    )
    newer = InitiativeFactory(title="Front door", summary="A chatbot answers.")
    newest = InitiativeFactory(title="Other", summary="Other.", approach="We built a chatbot.")
    assert ranked("chatbot") == [old.pk, newer.pk, newest.pk]


@pytest.mark.parametrize("query", QUERIES)
def test_matching_ids_are_the_searchs_matches(catalogue, query):
    expected = set(search.search(Initiative.objects.all(), query).values_list("pk", flat=True))
    assert set(search.matching_ids(query)) == expected


@postgres_only
@pytest.mark.parametrize("query", QUERIES)
def test_the_narrow_copy_matches_as_the_search_vector_does(catalogue, query):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT initiative_id FROM catalogue_search_match"
            " WHERE document @@ websearch_to_tsquery('english', %s)",
            [query],
        )
        copied = {pk for (pk,) in cursor.fetchall()}
    found = Initiative.objects.filter(search_vector=search._query(query))
    assert copied == set(found.values_list("pk", flat=True))


@postgres_only
@pytest.mark.parametrize("few", [search.FEW, 0, 5])
@pytest.mark.parametrize("always", [search.STATEMENT_ALWAYS, 0])
@pytest.mark.parametrize("query", ["housing", "repairs", "housing -repairs", "chatbot or bins"])
def test_ranked_ids_give_the_sorted_sqls_order(catalogue, query, few, always, monkeypatch):
    """Through one statement over few ids, or walking the tiers (FEW 0), with the rest by
    statement (FEW 5), for every page, with and without another filter; and choosing by the
    share of the matches allowed (`matches` given), dense or sparse."""
    monkeypatch.setattr(search, "FEW", few)
    monkeypatch.setattr(search, "STATEMENT_ALWAYS", always)
    monkeypatch.setattr(search, "WALK_ROWS", 2)  # so a walk is worth it on a small catalogue
    everything = ranked(query)
    allowed = BitMap(everything)
    for matches in (None, len(everything), 100 * len(everything)):
        for start, stop in [(0, 5), (5, 10), (0, len(everything)), (len(everything) - 3, 99)]:
            page = search.ranked_ids(query, allowed, max(start, 0), stop, matches)
            assert page == everything[max(start, 0) : stop]
        subset = BitMap(everything[::3])
        expected = [pk for pk in everything if pk in subset]
        assert search.ranked_ids(query, subset, 0, 99, matches) == expected


@postgres_only
def test_the_narrow_copies_stay_current():
    def matches(query):
        return set(search.matching_ids(query))

    initiative = InitiativeFactory(title="Waste collection routes", summary="Bins.")
    assert matches("waste") == {initiative.pk}
    initiative.title = "Recycling collection routes"
    initiative.save()
    assert matches("waste") == set()
    assert matches("recycling") == {initiative.pk}
    partnership = PartnershipFactory(initiative=initiative, organisation__name="Binlytics")
    assert matches("binlytics") == {initiative.pk}
    partnership.organisation.name = "Routewise"
    partnership.organisation.save()
    assert matches("binlytics") == set()
    assert matches("routewise") == {initiative.pk}
    partnership.delete()
    assert matches("routewise") == set()
    later = timezone.now() + timedelta(days=1)
    Initiative.objects.filter(pk=initiative.pk).update(published_at=later)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT published_at FROM catalogue_search_rank WHERE initiative_id = %s",
            [initiative.pk],
        )
        assert cursor.fetchone()[0] == later
    initiative.delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM catalogue_search_match WHERE initiative_id = %s)"
            " + (SELECT count(*) FROM catalogue_search_rank WHERE initiative_id = %s)",
            [initiative.pk, initiative.pk],
        )
        assert cursor.fetchone()[0] == 0


@postgres_only
def test_the_list_pages_agree_with_the_sorted_sql(catalogue, client, settings):
    """Each page of a search through the facet index (search.ranked_ids) shows what the
    sorted SQL shows without it, with the same total."""
    settings.CATALOGUE_PAGE_SIZE = 7

    def pages(query):
        shown = []
        for page in (1, 2, 3, 9):
            response = client.get("/initiatives/", {"q": query, "page": page})
            assert response.status_code == 200
            shown.append(
                (
                    [i.pk for i in response.context["page_obj"].object_list],
                    response.context["total"],
                )
            )
        return shown

    for query in ("housing", "repairs -chatbot", "council"):
        settings.CATALOGUE_FACET_INDEX = "sync"
        fast = pages(query)
        settings.CATALOGUE_FACET_INDEX = "off"
        cache.clear()
        assert pages(query) == fast
        everything = ranked(query)
        assert fast[0] == (everything[:7], len(everything))


@postgres_only
def test_the_memo_of_matches_follows_the_catalogue(client):
    InitiativeFactory(title="Housing repairs")
    response = client.get("/initiatives/", {"q": "housing"})
    assert response.context["total"] == 1
    InitiativeFactory(title="Housing allocations")
    response = client.get("/initiatives/", {"q": "housing"})
    assert response.context["total"] == 2


@postgres_only
def test_the_api_pages_agree_with_the_sorted_sql(catalogue, client, settings):
    settings.CATALOGUE_PAGE_SIZE = 7

    def pages(query):
        shown = []
        for page in (1, 2):
            response = client.get("/api/v1/initiatives/", {"q": query, "page": page})
            assert response.status_code == 200
            body = response.json()
            shown.append(([r["slug"] for r in body["results"]], body["count"]))
        return shown

    for query in ("housing", "repairs -chatbot"):
        settings.CATALOGUE_FACET_INDEX = "sync"
        fast = pages(query)
        settings.CATALOGUE_FACET_INDEX = "off"
        cache.clear()
        assert pages(query) == fast
        slugs = dict(Initiative.objects.values_list("pk", "slug"))
        assert fast[0][0] == [slugs[pk] for pk in ranked(query)[:7]]


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("committed_taxonomies")
def test_matches_read_outside_a_transaction_are_kept_per_catalogue_version(client):
    """A public request runs outside a transaction: the matches are read in a snapshot of
    their own, kept for the version read with them, and left behind when a write moves it."""
    InitiativeFactory(title="Housing repairs")
    response = client.get("/initiatives/", {"q": "housing"})
    assert response.context["total"] == 1
    assert [text for _, text in search._memo] == ["housing"]
    assert set(search.matching_ids("housing")) == {Initiative.objects.get().pk}
    with connection.cursor() as cursor:  # the settings were the snapshot's only
        cursor.execute("SELECT current_setting('enable_seqscan'), current_setting('work_mem')")
        assert cursor.fetchone() == ("on", "4MB")
    InitiativeFactory(title="Housing allocations")
    response = client.get("/initiatives/", {"q": "housing"})
    assert response.context["total"] == 2
    assert len(search._memo) == 2
    assert response.context["page_obj"].object_list[0].title == "Housing allocations"
