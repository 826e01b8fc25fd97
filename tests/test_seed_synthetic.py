"""seed_synthetic fills the catalogue with realistic published records for benchmarking."""

import re
from collections import Counter
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.postgres.search import SearchQuery
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count

from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Metric,
    Organisation,
    Outcome,
    Partnership,
    Place,
    Sector,
    Source,
    Theme,
)

pytestmark = pytest.mark.django_db

SUMMARY = re.compile(
    r"Created 200 published initiatives, 50 organisations, [\d,]+ partnerships, [\d,]+ sources, "
    r"[\d,]+ quotes, [\d,]+ metrics and [\d,]+ tag and place links in \d+\.\d s\.$"
)


def seed(**options):
    out = StringIO()
    call_command("seed_synthetic", count=200, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def seeded():
    return seed()


def per_initiative(name):
    """How many of a many-to-many relation each initiative has, zeros included."""
    counts = Initiative.objects.annotate(n=Count(name)).values_list("n", flat=True)
    return Counter(counts)


def test_creates_published_initiatives_and_organisations(seeded):
    initiatives = Initiative.objects.all()
    assert initiatives.count() == 200
    assert initiatives.published().count() == 200
    assert not initiatives.filter(published_at__isnull=True).exists()
    assert len({i.published_at.year for i in initiatives}) >= 5
    assert Organisation.objects.count() == 50
    assert Organisation.objects.values("kind").distinct().count() >= 5
    assert all(i.summary and i.challenge and i.lessons for i in initiatives)


def test_output_ends_with_the_summary_line(seeded):
    assert "200 / 200 initiatives" in seeded
    assert SUMMARY.search(seeded.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("relation", "fewest", "most"),
    [
        ("themes", 1, 4),
        ("drivers", 1, 3),
        ("outcomes", 1, 3),
        ("barriers", 0, 2),
        ("places", 1, 2),
        ("partnerships", 1, 4),
        ("sources", 1, 2),
        ("metrics", 0, 2),
    ],
)
def test_each_initiative_has_a_realistic_number_of_each(seeded, relation, fewest, most):
    counts = per_initiative(relation)
    assert min(counts) == fewest
    assert max(counts) == most


def test_every_initiative_has_a_sector_a_lead_and_sane_years(seeded):
    assert not Initiative.objects.filter(sector=None).exists()
    for initiative in Initiative.objects.all():
        assert 2000 <= initiative.start_year <= 2026
        assert initiative.end_year is None or initiative.start_year <= initiative.end_year <= 2026
        assert initiative.published_at.year >= max(initiative.start_year, 2012)
        assert 1 <= initiative.evidence_level <= 5
    assert Initiative.objects.filter(end_year__isnull=False).exists()
    assert Initiative.objects.filter(end_year__isnull=True).exists()


@pytest.mark.parametrize("model", [Theme, Driver, Outcome, Sector])
def test_tags_are_skewed(seeded, model):
    counts = sorted(model.objects.annotate(n=Count("initiatives")).values_list("n", flat=True))
    assert counts[-1] >= 3 * max(counts[0], 1)


def test_most_places_are_in_the_uk(seeded):
    in_uk = Initiative.objects.filter(places__country="GB").distinct().count()
    assert in_uk >= 120
    assert Initiative.objects.exclude(places__country="GB").exists()
    assert Place.objects.count() == 31  # only the fixture's places are used


def test_skewed_toward_early_evidence_and_live_stages(seeded):
    evidence = Counter(Initiative.objects.values_list("evidence_level", flat=True))
    assert evidence[1] > evidence[3] > evidence.get(5, 0)
    stages = Counter(Initiative.objects.values_list("stage", flat=True))
    assert stages.most_common(1)[0][0] == "implemented"
    assert stages["pilot"] > stages["idea"]


def test_partnerships_are_unique_and_never_the_lead(seeded):
    rows = list(Partnership.objects.values_list("initiative", "organisation", "role"))
    assert len(rows) == len(set(rows))
    for initiative in Initiative.objects.prefetch_related("partnerships"):
        partners = {p.organisation_id for p in initiative.partnerships.all()}
        assert initiative.lead_organisation_id not in partners
    assert len(set(Partnership.objects.values_list("role", flat=True))) >= 4


def test_metrics_cite_their_initiatives_sources(seeded):
    # Every figure cites its source and a passage of it, as the publishing rules ask.
    assert Metric.objects.exists()
    assert not Metric.objects.filter(source=None).exists()
    assert not Metric.objects.filter(quote=None).exists()
    for metric in Metric.objects.select_related("source", "quote"):
        assert metric.source.initiative_id == metric.initiative_id
        assert metric.quote.source_id == metric.source_id
        assert metric.quote.initiative_id == metric.initiative_id


def test_every_record_could_be_published_again(seeded):
    from catalogue import workflow

    for initiative in Initiative.objects.all()[:50]:
        assert not workflow.publication_problems(initiative), initiative.slug
    assert Source.objects.exclude(url="").count() == Source.objects.count()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="search vectors are PostgreSQL's")
def test_search_vectors_include_partner_names(seeded):
    # Partnerships are inserted before their initiatives, so the search trigger sees them.
    partnership = Partnership.objects.filter(organisation__kind="private-company").first()
    query = SearchQuery(partnership.organisation.name, config="english")
    assert Initiative.objects.filter(pk=partnership.initiative_id, search_vector=query).exists()
    assert not Initiative.objects.filter(search_vector=None).exists()


def test_narratives_use_a_varied_vocabulary(seeded):
    text = " ".join(
        " ".join([i.title, i.summary, i.challenge, i.approach, i.results, i.lessons])
        for i in Initiative.objects.all()
    ).lower()
    assert len(set(re.findall(r"[a-z]+", text))) > 500
    for word in ["housing", "chatbot", "council", "health", "transport", "data", "schools"]:
        assert word in text, word


def test_running_twice_adds_as_many_again_without_slug_collisions(seeded):
    output = seed()
    assert SUMMARY.search(output.strip().splitlines()[-1])
    assert Initiative.objects.count() == 400
    assert Organisation.objects.count() == 100
    slugs = list(Initiative.objects.values_list("slug", flat=True))
    assert len(set(slugs)) == 400
    assert all(slug.startswith("synthetic-") for slug in slugs)


def seed_afresh(**options):
    """Seed an empty catalogue; return the initiatives' titles and summaries in order."""
    Initiative.objects.all().delete()
    Organisation.objects.all().delete()
    seed(**options)
    return list(Initiative.objects.order_by("pk").values_list("title", "summary"))


def test_the_same_seed_gives_the_same_records():
    first = seed_afresh(seed=7)
    assert seed_afresh(seed=7) == first
    assert seed_afresh(seed=8) != first


def test_small_batches_give_the_same_records_as_one_large_one():
    assert seed_afresh(batch_size=30) == seed_afresh(batch_size=2000)


def test_a_second_run_avoids_the_first_runs_organisation_names(seeded):
    seed()
    names = list(Organisation.objects.values_list("name", flat=True))
    assert len(set(names)) > 0.95 * len(names)


def test_loads_the_taxonomies_when_they_are_missing():
    for model in (Theme, Driver, Outcome, Barrier):
        model.objects.all().delete()
    output = seed()
    assert "loading taxonomies.json" in output
    assert Theme.objects.exists()
    assert Initiative.objects.count() == 200


def test_rejects_a_count_below_one():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_synthetic", count=0, stdout=StringIO())


@pytest.fixture(scope="module")
def restore_taxonomies(django_db_blocker):
    yield
    # A transaction=True test ends by emptying every table, the session's taxonomies too.
    with django_db_blocker.unblock():
        call_command("loaddata", settings.BASE_DIR / "fixtures" / "taxonomies.json", verbosity=0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL saves in parallel")
@pytest.mark.django_db(transaction=True)
def test_parallel_saving_on_postgresql_gives_the_same_records(restore_taxonomies):
    # Inside a transaction the command keeps to its one connection, and saves in turn.
    with transaction.atomic():
        in_turn = seed_afresh(seed=3, batch_size=20)
        transaction.set_rollback(True)
    output = seed(seed=3, batch_size=20)
    assert SUMMARY.search(output.strip().splitlines()[-1])
    assert list(Initiative.objects.order_by("pk").values_list("title", "summary")) == in_turn
    assert per_initiative("partnerships").keys() <= {1, 2, 3, 4}
    assert not Initiative.objects.filter(search_vector=None).exists()
