"""The catalogue version moves at commit (migration 0015): a writer's open transaction holds
no other editor's save, versions are given in commit order, a reader never sees a version
before its writes, and the change log says which initiatives each version changed, on real
connections and real commits (PostgreSQL)."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from catalogue import changelog
from catalogue.models import CatalogueVersion, Initiative, Organisation
from tests.factories import InitiativeFactory, OrganisationFactory, PartnershipFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the catalogue version is kept on PostgreSQL"
    ),
    pytest.mark.usefixtures("reference_data", "committed_taxonomies"),
]

HOLD = 2.0


def version():
    return CatalogueVersion.objects.get(pk=1).number


def changes(since, until):
    with transaction.atomic(), connection.cursor() as cursor:
        return changelog.changes_between(cursor, since, until)


@pytest.mark.django_db(transaction=True)
def test_a_save_does_not_wait_for_another_writers_open_transaction(versions_at_commit):
    first, second = InitiativeFactory(title="First"), InitiativeFactory(title="Second")
    before = version()
    opened, failed = threading.Event(), []

    def long_transaction():
        try:
            with transaction.atomic():
                Initiative.objects.filter(pk=first.pk).update(title="First, edited")
                first.themes.clear()  # a second statement: still one version
                opened.set()
                time.sleep(HOLD)
        except Exception as error:  # reported by the main thread
            failed.append(error)
            opened.set()
        finally:
            connections.close_all()

    holder = threading.Thread(target=long_transaction)
    holder.start()
    assert opened.wait(10) and not failed
    # A reader while the transaction is open: the old version and the old data.
    assert version() == before
    assert Initiative.objects.get(pk=first.pk).title == "First"
    started = time.perf_counter()
    second.title = "Second, edited"
    second.save()
    waited = time.perf_counter() - started
    assert waited < HOLD / 4, f"the save waited {waited:.2f} s behind an open transaction"
    # The second editor committed first: theirs is the next version, and a reader sees it
    # with their write and without the open transaction's.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        assert version() == before + 1
        assert Initiative.objects.get(pk=first.pk).title == "First"
        assert Initiative.objects.get(pk=second.pk).title == "Second, edited"
    holder.join(10)
    assert not failed, failed
    assert version() == before + 2
    assert Initiative.objects.get(pk=first.pk).title == "First, edited"
    # The log ties each transaction's changes to the version it committed as, though the
    # open transaction logged its changes first.
    assert changes(before, before + 1) == {second.pk}
    assert changes(before + 1, before + 2) == {first.pk}
    assert changes(before, before + 2) == {first.pk, second.pk}


@pytest.mark.django_db(transaction=True)
def test_one_version_per_transaction_and_none_for_a_rollback(versions_at_commit):
    initiative = InitiativeFactory()
    before = version()
    with transaction.atomic():
        Initiative.objects.filter(pk=initiative.pk).update(start_year=2001)
        Initiative.objects.filter(pk=initiative.pk).update(start_year=2002)
        assert version() == before  # not until the commit
    assert version() == before + 1
    with transaction.atomic():
        Initiative.objects.filter(pk=initiative.pk).update(start_year=2003)
        transaction.set_rollback(True)
    assert version() == before + 1
    # A savepoint rolled back, then a write: the transaction still gets its version.
    with transaction.atomic():
        with transaction.atomic():
            Initiative.objects.filter(pk=initiative.pk).update(start_year=2004)
            transaction.set_rollback(True)
        assert version() == before + 1
        Initiative.objects.filter(pk=initiative.pk).update(start_year=2005)
    assert version() == before + 2
    assert changes(before, before + 2) == {initiative.pk}


@pytest.mark.django_db(transaction=True)
def test_the_log_names_the_initiatives_of_link_table_writes(versions_at_commit):
    a, b = InitiativeFactory(themes=["cloud"]), InitiativeFactory()
    before = version()
    a.themes.clear()
    PartnershipFactory(initiative=b)
    assert changes(before, version()) >= {a.pk, b.pk}
    # An organisation's kind changes the facets of every initiative it leads: "everything".
    organisation = OrganisationFactory()
    since = version()
    organisation.name = "Renamed"
    organisation.save()
    assert changes(since, version()) == set()
    organisation.kind = Organisation.Kind.OTHER
    organisation.save()
    assert changes(since, version()) is changelog.EVERYTHING
    # A bulk write beyond the log's limit logs "everything", once.
    since = version()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalogue_metric (initiative_id, label, value, unit, direction, "
            "baseline, period) SELECT %s, 'n', g, '', 'increase', '', '' "
            "FROM generate_series(1, 10001) g",
            [a.pk],
        )
    assert version() == since + 1
    assert changes(since, since + 1) is changelog.EVERYTHING
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM catalogue_change c JOIN catalogue_versioncommit k "
            "USING (xid) WHERE k.version = %s",
            [since + 1],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_truncate_moves_the_version_and_logs_everything(versions_at_commit):
    InitiativeFactory()
    before = version()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE catalogue_metric")
    assert version() == before + 1
    assert changes(before, before + 1) is changelog.EVERYTHING


@pytest.mark.django_db(transaction=True)
def test_a_pruned_log_does_not_reach_back(versions_at_commit):
    initiative = InitiativeFactory()
    before = version()
    for year in (2001, 2002, 2003):
        Initiative.objects.filter(pk=initiative.pk).update(start_year=year)
    with connection.cursor() as cursor:
        cursor.execute("SELECT catalogue_prune_changes(%s)", [before + 1])
    assert changes(before, before + 3) is changelog.EVERYTHING
    assert changes(before + 1, before + 3) == {initiative.pk}


@pytest.mark.django_db
def test_in_tests_each_statement_moves_the_version():
    """The suite's own transactions never commit (tests/conftest.py)."""
    initiative = InitiativeFactory()
    before = version()
    Initiative.objects.filter(pk=initiative.pk).update(start_year=2001)
    assert version() == before + 1
    Initiative.objects.filter(pk=initiative.pk).update(start_year=2002)
    assert version() == before + 2
    assert changes(before, before + 2) == {initiative.pk}
