"""A real database outage: PostgreSQL stopped under a running gunicorn, then started again.

The test brings its own servers, whatever database the rest of the suite uses: a throwaway
PostgreSQL cluster (initdb into a temporary directory, a port the kernel reports free, run as
the postgres user when we are root) and the app served by gunicorn (gunicorn.conf.py) with
production settings. It checks the pages are served; stops PostgreSQL (`pg_ctl stop -m
fast`); checks every kind of page is a 503 (a plain page, or JSON under /api/), /readyz too,
/healthz still 200, and each failed request is one warning log line, no traceback; starts
PostgreSQL again and checks the same gunicorn, same workers, serves the pages again within a
few seconds.

Marked `faults`, run in the SQLite pass of `make test` only. Without the PostgreSQL server
binaries it fails on CI (CI set) and skips elsewhere, saying why.
"""

import contextlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from catalogue import errors
from tests.support import (
    Gunicorn,
    Postgres,
    fetch,
    manage,
    postgres_bin,
    production_env,
    require,
    run,
)

pytestmark = pytest.mark.faults

RECOVERY_SECONDS = 10
UNAVAILABLE = "Sorry, the service is unavailable"


@pytest.fixture(scope="module")
def servers():
    """PostgreSQL with the seed catalogue, and gunicorn serving it; both stopped afterwards
    and their directory removed, whatever happened."""
    bin_dir = postgres_bin()
    require(
        bin_dir is not None,
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql or set PG_BIN",
    )
    directory = Path(tempfile.mkdtemp(prefix="catalogue-faults-"))
    directory.chmod(0o755)
    postgres = Postgres(bin_dir, directory)
    gunicorn = None
    try:
        postgres.initdb()
        postgres.start()
        createdb = [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(postgres.port)]
        run([*createdb, "-U", "postgres", "catalogue_faults"])
        env = production_env(directory, postgres.url("catalogue_faults"))
        for command in (
            ["migrate", "--no-input", "-v", "0"],
            ["seed_catalogue", "-v", "0"],
            ["collectstatic", "--no-input", "-v", "0"],
        ):
            manage(env, *command)
        gunicorn = Gunicorn(env, directory)
        gunicorn.start()
        yield postgres, gunicorn
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        if postgres.running():
            with contextlib.suppress(AssertionError):
                postgres.stop(mode="immediate")
        shutil.rmtree(directory, ignore_errors=True)


def assert_unavailable(base_url, path):
    """A 503 page (JSON under /api/) with Retry-After and the request id; returns the id."""
    status, headers, body = fetch(base_url, path)
    assert status == 503, f"{path}: {status}\n{body[:500]}"
    assert headers["Retry-After"] == str(errors.RETRY_AFTER_SECONDS), path
    assert headers["Cache-Control"] == "no-store", path
    request_id = headers["X-Request-ID"]
    assert "Traceback" not in body, path
    if path.startswith("/api/"):
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"detail": errors.DETAILS[503], "request_id": request_id}
    else:
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert f'<h1 class="govuk-heading-l">{UNAVAILABLE}</h1>' in body, path
        assert request_id in body, path
    return request_id


def test_a_database_outage_is_503_and_recovers_by_itself(servers):
    postgres, gunicorn = servers
    base = gunicorn.base_url

    status, _, body = fetch(base, "/api/v1/initiatives/?sort=title")
    assert status == 200
    slug = json.loads(body)["results"][0]["slug"]
    pages = [
        "/",
        "/initiatives/",
        f"/initiatives/{slug}/",
        "/initiatives/export.csv",
        "/api/v1/initiatives/",
    ]
    for path in [*pages, f"/initiatives/{slug}/", "/readyz", "/healthz"]:
        # The detail page twice: the second is served from the cache.
        status, _, body = fetch(base, path)
        assert status == 200, f"{path}: {status}\n{body[:500]}"
    booted = gunicorn.workers_booted()
    assert booted == 2

    postgres.stop()
    # A filter combination never asked for before: nothing of it is cached.
    uncached = "/initiatives/?q=council&theme=open-data&sort=title"
    outage_ids = [assert_unavailable(base, path) for path in [*pages, uncached]]

    status, _, body = fetch(base, "/readyz")
    assert status == 503
    assert json.loads(body) == {"status": "unavailable", "database": "unreachable"}
    assert fetch(base, "/healthz")[0] == 200

    # One warning line per failed request, with its id and the reason; no traceback.
    lines = gunicorn.log_lines()
    for request_id in outage_ids:
        (line,) = [line for line in lines if line["request_id"] == request_id]
        assert line["level"] == "WARNING"
        assert line["status"] == 503
        assert line["error"].startswith("database unavailable: "), line
    assert not [line for line in lines if "exception" in line]
    assert "Traceback" not in gunicorn.stderr.read_text()

    postgres.start()
    deadline = time.monotonic() + RECOVERY_SECONDS
    waiting = [*pages, uncached, "/readyz"]
    while waiting and time.monotonic() < deadline:
        waiting = [path for path in waiting if fetch(base, path)[0] != 200]
        if waiting:
            time.sleep(0.2)
    assert not waiting, f"still not 200 {RECOVERY_SECONDS} s after PostgreSQL started: {waiting}"
    # The same server and workers: nothing was restarted.
    assert gunicorn.process.poll() is None
    assert gunicorn.workers_booted() == booted


def test_without_the_server_binaries_it_fails_on_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="required on CI"):
        require(False, "PostgreSQL server binaries not found")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="binaries not found"):
        require(False, "PostgreSQL server binaries not found")
