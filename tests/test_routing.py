"""Read replicas (catalogue/routing.py): the router's and the middleware's decisions, in
process, on any database, with the replicas' answers stood in for. The same decisions
against a real streaming replica are tested in tests/test_replicas.py."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.db import OperationalError
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from catalogue import routing
from catalogue.models import Initiative

# -- The decisions, in process ----------------------------------------------------------------


class FakeConnection:
    def __init__(self):
        self.errors_occurred = False
        self.closed = 0

    def close(self):
        self.closed += 1


@pytest.fixture
def replicas(settings, monkeypatch):
    """Two replicas the router believes in; their versions are `versions` (an exception:
    unreachable), the primary's is `primary["version"]`."""
    settings.DATABASE_REPLICAS = ["replica1", "replica2"]
    settings.CATALOGUE_REPLICA_RETRY = 30
    fakes = {
        "default": FakeConnection(),
        "replica1": FakeConnection(),
        "replica2": FakeConnection(),
    }
    monkeypatch.setattr(routing, "connections", fakes)
    monkeypatch.setattr(routing, "_down", {})
    monkeypatch.setattr(routing, "_turn", iter(range(1000)))
    state = {"version": 7, "versions": {"replica1": 7, "replica2": 7}, "asked": []}

    def replica_version(alias):
        state["asked"].append(alias)
        found = state["versions"][alias]
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(routing, "primary_version", lambda: state["version"])
    monkeypatch.setattr(routing, "replica_version", replica_version)
    state["connections"] = fakes
    yield state
    routing._routing.set(None)


def public_request(path="/initiatives/", user=None, method="get"):
    """Runs the middleware's marking for a request; leaves its routing state current."""
    request = getattr(RequestFactory(), method)(path)
    if user is not None:
        request.user = user
    middleware = routing.ReplicaMiddleware(lambda request: HttpResponse())
    state = routing.RequestRouting()
    routing._routing.set(state)
    middleware.process_view(request, None, (), {})
    return state


ROUTER = routing.ReplicaRouter()


def test_outside_a_request_everything_is_the_primary(replicas):
    routing._routing.set(None)
    assert ROUTER.db_for_read(Initiative) == "default"
    assert ROUTER.db_for_write(Initiative) == "default"
    assert not replicas["asked"]


def test_migrations_only_on_the_primary_and_relations_across_all():
    assert ROUTER.allow_migrate("default", "catalogue")
    assert not ROUTER.allow_migrate("replica1", "catalogue")
    assert ROUTER.allow_relation(Initiative(), Initiative())


def test_a_public_read_goes_to_a_current_replica_sticky_for_the_request(replicas):
    state = public_request()
    assert state.public
    assert ROUTER.db_for_read(Initiative) == "replica1"
    assert ROUTER.db_for_read(Initiative) == "replica1"
    assert replicas["asked"] == ["replica1"]  # one check per request
    assert ROUTER.db_for_write(Initiative) == "default"
    # After a write, the request reads its own write: the primary.
    assert ROUTER.db_for_read(Initiative) == "default"


def test_replicas_take_turns_request_by_request(replicas):
    chosen = []
    for _ in range(4):
        public_request()
        chosen.append(ROUTER.db_for_read(Initiative))
    assert chosen == ["replica1", "replica2", "replica1", "replica2"]


def test_a_replica_ahead_of_the_version_read_is_used(replicas):
    replicas["versions"]["replica1"] = 8  # a write committed since the primary was asked
    public_request()
    assert ROUTER.db_for_read(Initiative) == "replica1"


def test_a_replica_behind_sends_the_request_to_the_primary_without_waiting(replicas):
    replicas["versions"]["replica1"] = 6
    state = public_request()
    assert ROUTER.db_for_read(Initiative) == "default"
    assert state.skipped == {"replica1": "behind"}
    assert replicas["asked"] == ["replica1"]
    # The next request, another replica's turn, is current.
    public_request()
    assert ROUTER.db_for_read(Initiative) == "replica2"


def test_without_a_version_to_compare_reads_stay_on_the_primary(replicas):
    replicas["version"] = None  # SQLite keeps none
    public_request()
    assert ROUTER.db_for_read(Initiative) == "default"
    assert not replicas["asked"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (f"/{django_settings.ADMIN_URL}", "get"),
        (f"/{django_settings.ADMIN_URL}catalogue/initiative/", "get"),
        ("/initiatives/", "post"),
        ("/initiatives/", "options"),
    ],
)
def test_the_admin_and_unsafe_methods_are_not_public(replicas, path, method):
    state = public_request(path, method=method)
    assert not state.public
    assert ROUTER.db_for_read(Initiative) == "default"
    assert not replicas["asked"]


def test_signed_in_users_are_not_public(replicas, django_user_model):
    staff = django_user_model(username="edna", is_staff=True)
    assert not public_request(user=staff).public
    assert not public_request(user=django_user_model(username="reader")).public
    assert public_request(user=AnonymousUser()).public


def test_a_replica_that_is_down_is_skipped_for_the_retry_interval(replicas, monkeypatch, caplog):
    clock = [1000.0]
    monkeypatch.setattr(routing.time, "monotonic", lambda: clock[0])
    replicas["versions"]["replica1"] = OperationalError("connection refused")
    replicas["versions"]["replica2"] = OperationalError("connection refused")
    caplog.set_level("INFO", logger="catalogue.routing")

    state = public_request()
    assert ROUTER.db_for_read(Initiative) == "default"
    assert state.skipped == {"replica1": "down", "replica2": "down"}
    assert replicas["connections"]["replica1"].closed == 1
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert [r.replica for r in warnings] == ["replica1", "replica2"]

    # Within the interval neither is asked again.
    replicas["asked"].clear()
    clock[0] += 29
    public_request()
    assert ROUTER.db_for_read(Initiative) == "default"
    assert not replicas["asked"]

    # After it, tried again: still down, and no second warning for the same outage.
    clock[0] += 2
    public_request()
    assert ROUTER.db_for_read(Initiative) == "default"
    assert sorted(replicas["asked"]) == ["replica1", "replica2"]
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 2

    # Back: used again, and said so.
    replicas["versions"]["replica1"] = 7
    replicas["versions"]["replica2"] = 7
    clock[0] += 31
    public_request()
    assert ROUTER.db_for_read(Initiative) in ("replica1", "replica2")
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_one_replica_down_another_serves(replicas, monkeypatch):
    replicas["versions"]["replica1"] = OperationalError("connection refused")
    public_request()
    assert ROUTER.db_for_read(Initiative) == "replica2"


@pytest.mark.django_db  # closing a response closes old connections
def test_a_streamed_response_reads_from_the_replica_until_it_is_closed(replicas):
    during = []

    def rows():
        during.append(ROUTER.db_for_read(Initiative))
        yield b"row\n"

    def view(request):
        middleware.process_view(request, None, (), {})
        return StreamingHttpResponse(rows())

    middleware = routing.ReplicaMiddleware(view)
    response = middleware(RequestFactory().get("/initiatives/export.csv"))
    assert b"".join(response.streaming_content) == b"row\n"
    assert during == ["replica1"]
    response.close()
    assert routing.current() is None


def test_a_replica_failing_under_a_request_is_answered_again_from_the_primary(replicas):
    answers = []

    def view(request):
        middleware.process_view(request, None, (), {})
        alias = ROUTER.db_for_read(Initiative)
        answers.append(alias)
        if alias == "replica1":
            replicas["connections"]["replica1"].errors_occurred = True
            request.database_error = "database unavailable: server closed the connection"
            return HttpResponse(status=503)
        return HttpResponse("ok")

    middleware = routing.ReplicaMiddleware(view)
    response = middleware(RequestFactory().get("/initiatives/"))
    assert response.status_code == 200
    assert answers == ["replica1", "default"]
    assert not routing.available("replica1")
    assert routing.current() is None


def test_a_primary_outage_is_still_a_503(replicas):
    """Only a replica's failure is retried: the primary's is the usual 503."""

    def view(request):
        middleware.process_view(request, None, (), {})
        ROUTER.db_for_read(Initiative)
        request.database_error = "database unavailable: connection refused"
        return HttpResponse(status=503)

    replicas["versions"]["replica1"] = 6  # behind: the request is on the primary
    middleware = routing.ReplicaMiddleware(view)
    assert middleware(RequestFactory().get("/initiatives/")).status_code == 503


def test_replica_settings_come_from_database_replica_urls():
    script = (
        "import json; from django.conf import settings as s;"
        "print(json.dumps({'replicas': s.DATABASE_REPLICAS, 'routers': s.DATABASE_ROUTERS,"
        " 'middleware': 'catalogue.routing.ReplicaMiddleware' in s.MIDDLEWARE,"
        " 'retry': s.CATALOGUE_REPLICA_RETRY,"
        " 'databases': {a: {k: d.get(k) for k in ('NAME', 'HOST', 'CONN_MAX_AGE', 'OPTIONS',"
        " 'DISABLE_SERVER_SIDE_CURSORS', 'CONN_HEALTH_CHECKS')} | {'mirror': d.get('TEST',"
        " {}).get('MIRROR')} for a, d in s.DATABASES.items()}}))"
    )
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DATABASE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="catalogue.settings",
        DATABASE_URL="postgres://app@primary:5432/catalogue?connect_timeout=3",
        DATABASE_REPLICA_URLS=(
            "postgres://app@r1:5432/catalogue, postgres://app@r2/catalogue postgres://app@r3/c"
        ),
        DJANGO_CONN_MAX_AGE="17",
        DJANGO_DISABLE_SERVER_SIDE_CURSORS="1",
        DJANGO_REPLICA_RETRY="5",
    )
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["replicas"] == ["replica1", "replica2", "replica3"]
    assert found["routers"] == ["catalogue.routing.ReplicaRouter"]
    assert found["middleware"]
    assert found["retry"] == 5
    databases = found["databases"]
    assert databases["replica1"]["HOST"] == "r1"
    assert databases["replica2"]["HOST"] == "r2"
    assert databases["replica3"]["NAME"] == "c"
    for alias in ("replica1", "replica2", "replica3"):
        assert databases[alias]["mirror"] == "default"
        assert databases[alias]["CONN_MAX_AGE"] == 17
        assert databases[alias]["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert databases[alias]["CONN_HEALTH_CHECKS"] is True
        assert databases[alias]["OPTIONS"] == {"connect_timeout": 5}
    assert databases["default"]["mirror"] is None
    assert databases["default"]["OPTIONS"] == {"connect_timeout": 3}


def test_without_replicas_nothing_is_routed():
    if "replica1" in django_settings.DATABASES:
        pytest.skip("DATABASE_REPLICA_URLS is set for this run")
    assert list(django_settings.DATABASES) == ["default"]
    assert not django_settings.DATABASE_ROUTERS
    assert "catalogue.routing.ReplicaMiddleware" not in django_settings.MIDDLEWARE
