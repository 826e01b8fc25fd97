import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection

from catalogue import limits


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
def fresh_cache():
    """Cached taxonomy terms must not outlive the test transaction that created them."""
    cache.clear()
    yield
    cache.clear()
