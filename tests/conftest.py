import importlib
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection, connections
from django.db.backends.signals import connection_created
from django.utils import timezone

from catalogue import facet_index, limits, search
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
    Theme,
)
from tests.admin_support import member_of
from tests.caches import clear_caches
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
    QuoteFactory,
    SourceFactory,
    at,
    term,
)
from tests.hostile import BOUND, Timings
from tests.outputs_support import COUNTRIES, NASTY, WORDS

# The hostile-input timings that pytest-xdist workers reported, for the end of the run.
HOSTILE_TIMINGS = pytest.StashKey[list]()


def pytest_addoption(parser):
    parser.addoption(
        "--require-postgres",
        action="store_true",
        help="Fail (never skip) unless the tests run against a reachable PostgreSQL server.",
    )


def pytest_configure(config):
    if config.getoption("--require-postgres"):
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError(
                f"--require-postgres: DATABASE_URL must point at PostgreSQL, not {engine}."
            )


# Tests run in transactions that never commit, so the catalogue version's commit-time bump
# (migration 0015) would never happen: on the suite's connections each statement moves the
# version at once, as before it. Tests of the commit-time bump itself turn this off
# (`versions_at_commit`); servers the tests start run as in production.
EACH_STATEMENT = {"on": True}


def _versions_each_statement(sender, connection, **kwargs):
    if connection.vendor == "postgresql":
        value = "on" if EACH_STATEMENT["on"] else "off"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('catalogue.version_each_statement', %s, false)", [value]
            )


connection_created.connect(_versions_each_statement, dispatch_uid="tests-version-each-statement")


def set_versions_each_statement(on):
    """Each statement moves the catalogue version (tests) or each commit (production), on
    every connection this process opens from now and the open ones."""
    EACH_STATEMENT["on"] = on
    for alias in connections:
        db = connections[alias]
        if db.vendor == "postgresql" and db.connection is not None:
            _versions_each_statement(None, db)


@pytest.fixture
def versions_at_commit():
    """The catalogue version moves at commit, as in production (transactional tests)."""
    set_versions_each_statement(False)
    yield
    set_versions_each_statement(True)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    """Reference data (the vocabularies) comes with the migrations, as in production."""
    with django_db_blocker.unblock():
        if request.config.getoption("--require-postgres"):
            assert connection.vendor == "postgresql"
            with connection.cursor() as cursor:
                cursor.execute("SELECT version()")
                print(f"\nRunning against {cursor.fetchone()[0]}")


@pytest.fixture
def seed_catalogue(db):
    call_command("loaddata", settings.BASE_DIR / "fixtures" / "catalogue.json", verbosity=0)


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    """The suite sends thousands of requests from one address: the per-client rates are off
    unless a test sets them (tests/test_limits.py). Servers the tests start in a production
    environment (gunicorn) have the production rates."""
    settings.CATALOGUE_RATE_LIMITS = {}
    # Nor is the number of exports at once capped: tests read an export's headers and leave
    # its body, which would hold a place until the response is collected.
    settings.CATALOGUE_MAX_CONCURRENT_EXPORTS = 1000
    limits._exports = None


@pytest.fixture(autouse=True)
def replicas_are_the_primary(settings):
    """With DATABASE_REPLICA_URLS set, each replica is a test mirror of the primary (the same
    test database on another connection), which cannot see a test's uncommitted writes and
    which pytest-django does not let a test use: the suite reads from the primary. Routing
    itself is tested by tests/test_replicas.py, against a real replica."""
    if settings.DATABASE_REPLICAS:
        settings.DATABASE_REPLICAS = []


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Cached taxonomy terms must not outlive the test transaction that created them; nor
    must the facet index, which tests build at once ("sync"), in the test's transaction."""
    settings.CATALOGUE_FACET_INDEX = "sync"
    clear_caches()
    facet_index.forget()
    search.forget()
    yield
    clear_caches()
    facet_index.forget()
    search.forget()


@pytest.fixture(scope="module")
def timings(request):
    """The hostile-input tests' requests (tests.hostile.send): the slowest, reported once
    at the end of each module that uses it."""
    found = Timings()
    yield found
    if not found.requests:
        return
    line = (
        f"hostile input on {connection.vendor}: {found.requests} requests, statuses "
        f"{dict(sorted(found.statuses.items()))}, slowest {found.slowest:.2f} s "
        f"(bound {BOUND} s): {found.slowest_request!r}"
    )
    if hasattr(request.config, "workeroutput"):
        # A pytest-xdist worker prints nowhere: the controller prints it (below). Each worker
        # reports the part of the module it ran.
        worker = request.config.workerinput["workerid"]
        line = f"{line} [{request.module.__name__}, {worker}]"
        request.config.workeroutput.setdefault("hostile_timings", []).append(line)
        return
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter and capture:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n{line}")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist: a worker finished; keep the hostile-input timings it reported."""
    lines = getattr(node, "workeroutput", {}).get("hostile_timings", [])
    node.config.stash.setdefault(HOSTILE_TIMINGS, []).extend(lines)


def pytest_terminal_summary(terminalreporter, config):
    for line in config.stash.get(HOSTILE_TIMINGS, []):
        terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def reference_data(django_db_setup, django_db_blocker):
    """For modules with transaction=True tests (pytestmark usefixtures): such a test ends by
    emptying every table, so put the session's taxonomies and
    the migrations' groups (0005, and 0012's quote permissions) back for the tests after it
    (and make sure they are there)."""

    def load():
        call_command("loaddata", settings.BASE_DIR / "fixtures" / "taxonomies.json", verbosity=0)
        groups = importlib.import_module("catalogue.migrations.0005_editor_and_publisher_groups")
        quotes = importlib.import_module(
            "catalogue.migrations.0012_quote_permissions_outcome_none_reported_version_triggers"
        )
        for name, codenames in groups.GROUPS.items():
            group, created = Group.objects.get_or_create(name=name)
            if created:
                group.permissions.set(
                    Permission.objects.filter(
                        content_type__app_label="catalogue",
                        codename__in=[*codenames, *quotes.QUOTE_PERMISSIONS],
                    )
                )

    with django_db_blocker.unblock():
        load()
    yield
    with django_db_blocker.unblock():
        load()


@pytest.fixture
def committed_taxonomies(request):
    """A transactional test ends by emptying every table: load the terms for each one (a
    module's other tests have `reference_data`)."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        call_command("loaddata", settings.BASE_DIR / "fixtures" / "taxonomies.json", verbosity=0)


@pytest.fixture
def users(django_user_model):
    return {
        "alice": django_user_model.objects.create_user("alice"),
        "bøb": django_user_model.objects.create_user("bøb"),
    }


@pytest.fixture
def catalogue(seed_catalogue, users):
    """The seed catalogue, and records using every field, state and kind of link."""
    alice, bob = users["alice"], users["bøb"]
    driver = Driver.objects.create(
        name="Ünïcode driver ✓", slug="unicode-driver", description="Ça marche — 東京"
    )
    london = Place.objects.get(country="GB", region=Place.Region.LONDON)
    scotland = Place.objects.get(country="GB", region=Place.Region.SCOTLAND)
    europe = Place.objects.create(country="EU")
    organisations = [
        OrganisationFactory(kind=kind, country=country, website=website)
        for kind, country, website in zip(
            Organisation.Kind.values,
            ["GB", "", "EU", "CH", "FR", "GB", "US", "DE", "GB", "IE", "", "NL", "GB", ""],
            ["https://example.org/ü", "", "https://x.example", *[""] * 11],
            strict=True,
        )
    ]
    lead = OrganisationFactory(
        name="Stadt Zürich — Digitalisierung", slug="stadt-zurich", country="CH", website=""
    )
    full = InitiativeFactory(
        title="Bürgerservice digital: Zürich ✓ 東京",
        slug="burgerservice-zurich",
        summary="Ein Bürgerservice, der „einfach“ funktioniert — façade of 東京.",
        challenge="**Markdown** challenge\nwith lines",
        approach="Approach ✓",
        results="Results: 25 % fewer calls",
        lessons="Lessons, including what did not work",
        lead_organisation=lead,
        sector=term(Sector, "health"),
        innovation_type=Initiative.InnovationType.ANTICIPATORY,
        stage=Initiative.Stage.PILOT,
        start_year=2019,
        end_year=2023,
        website="https://www.stadt-zuerich.ch/bürgerservice",
        nuts_code="UKM75",
        collaboration_type=Initiative.CollaborationType.GOVTECH,
        funding=Initiative.Funding.EU,
        pstw_id="PSTW-00042",
        evidence_level=Initiative.EvidenceLevel.INDEPENDENT,
        published_at=at("2024-03-01 12:30:15.123456"),
        created_at=at("2023-11-02 08:00:01.654321"),
        created_by=alice,
        updated_by=bob,
        themes=["cloud", "open-data"],
        drivers=["technology", "crisis"],
        outcomes=["cost-savings"],
        barriers=["funding", "risk-aversion"],
        source=False,
    )
    full.places.set([london, scotland, europe])
    full.drivers.add(driver)
    draft = DraftFactory(
        title="A draft with nothing much",
        sector=None,
        start_year=None,
        stage=Initiative.Stage.IDEA,
        innovation_type="",
        created_by=alice,
        source=False,
    )
    draft.themes.clear()
    draft.drivers.clear()
    archived = InitiativeFactory(
        status=Initiative.Status.ARCHIVED,
        published_at=at("2021-06-30 23:59:59"),
        pstw_id="PSTW-00043",
        countries=["FR", "DE"],
    )
    InitiativeFactory(status=Initiative.Status.IN_REVIEW, published_at=None, updated_by=bob)
    for organisation, role in zip(organisations, Partnership.Role.values, strict=False):
        PartnershipFactory(
            initiative=full, organisation=organisation, role=role, description=f"Rôle {role}"
        )
    # One organisation in two roles on the same initiative.
    PartnershipFactory(initiative=draft, organisation=organisations[0], role="funder")
    PartnershipFactory(initiative=draft, organisation=organisations[0], role="commissioner")
    cited = SourceFactory(
        initiative=full,
        title="Évaluation finale ✓",
        publisher="Stadt Zürich",
        author="Zoë Müller",
        url="https://example.org/évaluation",
        published_on=date(2023, 5, 6),
        accessed_on=date(2024, 1, 2),
    )
    SourceFactory(initiative=full, publisher="", url="", published_on=None, accessed_on=None)
    MetricFactory(
        initiative=full,
        label="Kosten ✓",
        value=Decimal("123456789012.34"),
        unit="£",
        direction=Metric.Direction.INCREASE,
        baseline="2019 baseline ü",
        period="3 years",
        source=cited,
    )
    MetricFactory(initiative=full, value=Decimal("-0.50"), unit="pp", direction="no-change")
    MetricFactory(initiative=archived, value=Decimal("7"), unit="", source=None)
    # updated_at is auto_now, so only an update sets it to a moment of the test's choosing.
    Initiative.objects.filter(pk=full.pk).update(updated_at=at("2024-04-01 09:10:11.000123"))
    Initiative.objects.filter(pk=draft.pk).update(updated_at=at("2020-01-01 00:00:00"))
    return {"full": full, "draft": draft, "archived": archived, "lead": lead}


@pytest.fixture
def editor():
    """A member of the Editors group (catalogue migration 0005)."""
    return member_of("Editors", "edna")


@pytest.fixture
def publisher():
    """A member of the Publishers group."""
    return member_of("Publishers", "pablo")


# -- the catalogues the exports read (tests/test_exports_*.py) --------------------------------


@pytest.fixture
def vocabulary():
    return {
        "theme": list(Theme.objects.values_list("slug", flat=True)),
        "driver": list(Driver.objects.values_list("slug", flat=True)),
        "outcome": list(Outcome.objects.values_list("slug", flat=True)),
        "barrier": list(Barrier.objects.values_list("slug", flat=True)),
        "sector": list(Sector.objects.values_list("slug", flat=True)),
    }


@pytest.fixture
def varied_catalogue(vocabulary):
    """Thirty published initiatives spread over every filter, with tied titles and dates so
    that the tie-breaks matter, and drafts tagged like them."""
    rng = random.Random(20261125)
    now = timezone.now().replace(microsecond=0)
    kinds = Organisation.Kind.values
    published = []
    for n in range(30):
        factory = InitiativeFactory if n % 6 else DraftFactory
        initiative = factory(
            title=f"{rng.choice(['Better', 'Smarter', 'Open'])} {rng.choice(WORDS)} {n % 7}",
            summary=f"How a {rng.choice(WORDS)} service used {rng.choice(WORDS)}.",
            themes=rng.sample(vocabulary["theme"], rng.randint(1, 3)),
            drivers=rng.sample(vocabulary["driver"], rng.randint(1, 2)),
            outcomes=rng.sample(vocabulary["outcome"], rng.randint(1, 2)),
            barriers=rng.sample(vocabulary["barrier"], rng.randint(0, 2)),
            countries=rng.sample(COUNTRIES, rng.randint(0, 2)),
            sector=term(Sector, rng.choice(vocabulary["sector"])),
            stage=rng.choice(Initiative.Stage.values),
            start_year=rng.choice([None, *range(2005, 2026)]),
            lead_organisation__kind=rng.choice(kinds),
            **({"published_at": now - timedelta(days=n % 9)} if n % 6 else {}),
        )
        if n % 6:
            published.append(initiative)
        if n % 4 == 0:
            PartnershipFactory(initiative=initiative, role=rng.choice(["funder", "other"]))
            MetricFactory(initiative=initiative)
    return published


@pytest.fixture
def detailed():
    """One initiative with every column filled, in text that CSV writers get wrong."""
    lead = OrganisationFactory(name='Council of "A, B"; C\\D', kind="combined-authority")
    initiative = InitiativeFactory(
        title=NASTY,
        summary=f"Summary: {NASTY}",
        lead_organisation=lead,
        themes=["open-data", "cloud"],
        barriers=["funding"],
        countries=["GB", "EE"],
        start_year=2019,
        end_year=2021,
        website="https://example.org/a,b",
        stage="pilot",
        innovation_type="mission",
        collaboration_type="govtech",
        funding="eu",
        evidence_level=3,
        source=False,
    )
    initiative.places.add(Place.objects.get_or_create(country="GB", region="TLI")[0])
    PartnershipFactory(
        initiative=initiative, organisation=OrganisationFactory(name="Ünïcode; Ltd"), role="funder"
    )
    PartnershipFactory(initiative=initiative, organisation=OrganisationFactory(name="Ąb"))
    source = SourceFactory(
        initiative=initiative,
        title='Report "X", part 1',
        author="Ann",
        publisher="Pub",
        url="https://example.org/r?a=1&b=2",
        published_on=date(2024, 3, 1),
        accessed_on=date(2024, 4, 2),
    )
    quote = QuoteFactory(source=source, text="Costs fell by 12.5%; see p. 4", locator="page 4")
    MetricFactory(
        initiative=initiative,
        label="Costs, admin",
        value=Decimal("-12.50"),
        baseline="2019",
        period="2 years",
        source=source,
        quote=quote,
    )
    return Initiative.objects.get(pk=initiative.pk)
