"""Read replicas (catalogue/routing.py): where each request reads, against a real streaming
replica. The router's decisions in process are tested in tests/test_routing.py.

The server tests (marked `replicas`) bring their own servers, whatever database the rest of
the suite uses: a primary PostgreSQL cluster (initdb, wal_level=replica, replication trusted
on loopback), a hot standby streaming from it (pg_basebackup -R, on another free port), both
logging every statement, and gunicorn with production settings, DATABASE_URL on the primary
and DATABASE_REPLICA_URLS on the replica. Which server answered a request is read from the
two servers' statement logs between just before and just after it: the app is their only
client meanwhile. They check that
(a) every public output reads from the replica, the primary answering only the catalogue
    version;
(b) the admin, previews and a signed-in editor's requests read from the primary only;
(c) with the replica's replay paused, an edit and an unpublication on the primary show in
    every output at once (from the primary), and after replay resumes reads go back to it;
(d) with the replica stopped every output is 200 and current, from the primary, with one
    warning per process; started again, reads go back to it after DJANGO_REPLICA_RETRY.
Run in the SQLite pass of `make test` only; without the PostgreSQL server binaries they fail
on CI (CI set) and skip elsewhere, saying why.
"""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings

from tests.support import Gunicorn, Postgres, fetch, manage, postgres_bin, production_env, require

DATABASE = "catalogue_replicas"
RETRY = 2  # DJANGO_REPLICA_RETRY for the server tests, seconds
REPLICATION = " -c wal_level=replica -c max_wal_senders=5 -c log_statement=all"
PRIMARY_OPTIONS = " -c fsync=off -c synchronous_commit=off" + REPLICATION
STANDBY_OPTIONS = " -c fsync=off -c hot_standby=on -c log_statement=all"
# One log entry per statement: "2026-12-03 13:50:00.123 UTC [4242] LOG:  statement: ...".
ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[\d+\] ", re.MULTILINE)
# A statement reading the catalogue (or the sessions, the users...), not just its version.
READS = re.compile(r"\b(?:catalogue_(?!catalogueversion\b)|auth_|django_|reversion_|axes_)\w+")
VERSION = "catalogue_catalogueversion"


# -- The servers ------------------------------------------------------------------------------


def statements(log, offset):
    """The statements a server logged after byte `offset` of its log."""
    with open(log, "rb") as file:
        file.seek(offset)
        text = file.read().decode(errors="replace")
    entries = [entry for entry in ENTRY.split(text) if entry.strip()]
    return [entry.split("statement: ", 1)[1].strip() for entry in entries if "statement: " in entry]


@dataclass
class Seen:
    """What each server was asked during a window."""

    primary: list
    replica: list

    @staticmethod
    def reads(found):
        return [sql for sql in found if READS.search(sql)]

    def from_replica(self, path):
        # Insights' figures may all come from the facet index (catalogue/facet_index.py),
        # built from the replica: then the page reads nothing at all but the version.
        assert self.reads(self.replica) or path.startswith("/insights/"), (
            f"{path}: nothing read from the replica: {self.replica}; primary: {self.primary}"
        )
        assert not self.reads(self.primary), (
            f"{path}: read from the primary: {self.reads(self.primary)[:3]}"
        )
        # The primary answered the catalogue version, and only that.
        assert any(VERSION in sql for sql in self.primary), path

    def from_primary(self, path, replica_asked=True, reads=True):
        """Read from the primary; the replica at most asked for its version (or, with
        replica_asked False, not asked anything)."""
        if reads:
            assert self.reads(self.primary), f"{path}: nothing read from the primary"
        assert not self.reads(self.replica), (
            f"{path}: read from the replica: {self.reads(self.replica)[:3]}"
        )
        if not replica_asked:
            assert not self.replica, f"{path}: the replica was asked {self.replica[:3]}"


@dataclass
class Servers:
    primary: Postgres
    replica: Postgres
    gunicorn: Gunicorn
    staff_cookie: str

    @contextlib.contextmanager
    def watch(self):
        """Yields a Seen filled in when the block ends."""
        offsets = [os.path.getsize(server.log) for server in (self.primary, self.replica)]
        seen = Seen([], [])
        yield seen
        seen.primary = statements(self.primary.log, offsets[0])
        seen.replica = statements(self.replica.log, offsets[1])

    def get(self, path, staff=False):
        headers = {"Cookie": f"sessionid={self.staff_cookie}"} if staff else None
        with self.watch() as seen:
            status, _, body = fetch(self.gunicorn.base_url, path, headers)
        assert status == 200, f"{path}: {status}\n{body[:500]}"
        return body, seen

    def sql(self, server, query, *params):
        """Rows (or []) of one statement on `server`, outside the app."""
        with psycopg.connect(server.url(DATABASE), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def replayed(self):
        """Wait until the replica has replayed everything the primary has written (the
        insert position: with synchronous_commit off a commit may not be written out yet)."""
        (wanted,) = self.sql(self.primary, "SELECT pg_current_wal_insert_lsn()::text")[0]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.OperationalError):
                (done,) = self.sql(
                    self.replica,
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                    wanted,
                )[0]
                if done:
                    return
            time.sleep(0.1)
        raise AssertionError("the replica did not catch up within 30 s")

    def edit(self, slug, **fields):
        """An editor's save, as the database sees it: one UPDATE on the primary."""
        assignments = ", ".join(f"{name} = %s" for name in fields)
        self.sql(
            self.primary,
            f"UPDATE catalogue_initiative SET {assignments}, updated_at = now() WHERE slug = %s",
            *fields.values(),
            slug,
        )

    def warnings(self):
        return [
            line
            for line in self.gunicorn.log_lines()
            if line.get("logger") == "catalogue.routing" and line["level"] == "WARNING"
        ]


STAFF_SESSION = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.create_superuser("edna", "edna@example.org", "x" * 20)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


@pytest.fixture(scope="module")
def servers():
    """A primary with the seed catalogue, a streaming replica of it and gunicorn reading both;
    all stopped afterwards and their directory removed, whatever happened."""
    bin_dir = postgres_bin()
    require(
        bin_dir is not None and (bin_dir / "pg_basebackup").exists(),
        "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found: install "
        "postgresql or set PG_BIN",
    )
    directory = Path(tempfile.mkdtemp(prefix="catalogue-replicas-"))
    directory.chmod(0o755)
    for name in ("primary", "replica"):
        (directory / name).mkdir()
    primary = Postgres(bin_dir, directory / "primary")
    replica = Postgres(bin_dir, directory / "replica")
    gunicorn = None
    try:
        primary.initdb()
        # initdb -A trust already trusts replication connections on loopback; say so anyway.
        with open(primary.data / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        primary.start(PRIMARY_OPTIONS)
        psql = [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(primary.port)]
        subprocess.run([*psql, "-U", "postgres", DATABASE], check=True, timeout=60)
        env = production_env(directory, primary.url(DATABASE))
        for command in (
            ["migrate", "--no-input", "-v", "0"],
            ["seed_catalogue", "-v", "0"],
            ["collectstatic", "--no-input", "-v", "0"],
        ):
            manage(env, *command)
        made = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", STAFF_SESSION],
            cwd=django_settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        staff_cookie = made.stdout.strip().splitlines()[-1]
        subprocess.run(
            [
                *replica.as_owner,
                str(bin_dir / "pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
                *("-D", str(replica.data), "-R", "-X", "stream", "--checkpoint=fast"),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        replica.start(STANDBY_OPTIONS)
        found = Servers(primary, replica, None, staff_cookie)
        (standby,) = found.sql(replica, "SELECT pg_is_in_recovery()")[0]
        assert standby, "the replica is not a standby"
        found.replayed()
        env["DATABASE_REPLICA_URLS"] = replica.url(DATABASE)
        env["DJANGO_REPLICA_RETRY"] = str(RETRY)
        # The test's own requests are many, from one address.
        env.update(DJANGO_RATE_PAGES="off", DJANGO_RATE_API="off", DJANGO_RATE_EXPORTS="off")
        gunicorn = Gunicorn(env, directory)
        gunicorn.start()
        found.gunicorn = gunicorn
        yield found
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        for server in (replica, primary):
            if server.running():
                with contextlib.suppress(AssertionError):
                    server.stop(mode="immediate")
        shutil.rmtree(directory, ignore_errors=True)


def newest(servers, offset=0):
    """(slug, title) of a published initiative, newest first."""
    return servers.sql(
        servers.primary,
        "SELECT slug, title FROM catalogue_initiative WHERE status = 'published'"
        " ORDER BY published_at DESC OFFSET %s LIMIT 1",
        offset,
    )[0]


def public_paths(slug):
    return [
        "/",
        "/initiatives/",
        "/initiatives/?q=data&sort=title",
        f"/initiatives/{slug}/",
        "/initiatives/export.csv",
        "/initiatives/export.json",
        "/api/v1/initiatives/",
        f"/api/v1/initiatives/{slug}/",
        "/feeds/initiatives.atom",
        "/sitemap.xml",
        "/sitemap-initiatives.xml",
        "/organisations/",
        "/insights/",
    ]


# What shows an initiative's title, and what lists its slug (the sitemap lists no titles).
SHOWS_TITLE = [
    "/initiatives/",
    "/initiatives/export.csv",
    "/initiatives/export.json",
    "/api/v1/initiatives/",
    "/feeds/initiatives.atom",
]
LISTS = [*SHOWS_TITLE, "/sitemap-initiatives.xml"]


def shown(text):
    """How a title appears in HTML, XML, CSV and JSON alike (no character to escape)."""
    assert re.fullmatch(r"[A-Za-z0-9 ]+", text)
    return text


@pytest.mark.replicas
def test_public_outputs_read_from_the_replica(servers):
    slug, _ = newest(servers)
    for path in public_paths(slug):
        _, seen = servers.get(path)
        seen.from_replica(path)
    # The replica was asked whether it is current once per request, not once per query.
    _, seen = servers.get(f"/initiatives/{newest(servers, 1)[0]}/")
    assert len([sql for sql in seen.replica if VERSION in sql]) == 1
    assert len([sql for sql in seen.primary if VERSION in sql]) == 1


@pytest.mark.replicas
def test_editors_and_the_admin_read_from_the_primary(servers):
    slug, _ = newest(servers)
    for path in [
        f"/{django_settings.ADMIN_URL}",
        f"/{django_settings.ADMIN_URL}catalogue/initiative/",
        f"/{django_settings.ADMIN_URL}catalogue/initiative/?q=data",
        f"/initiatives/{slug}/preview/",
        "/initiatives/",
        f"/initiatives/{slug}/",
        "/api/v1/initiatives/",
        "/initiatives/export.csv",
    ]:
        body, seen = servers.get(path, staff=True)
        seen.from_primary(path, replica_asked=False)
    assert "Log out" in servers.get(f"/{django_settings.ADMIN_URL}", staff=True)[0]
    # Not signed in, the preview is the admin's sign-in page: the primary's too.
    body, seen = servers.get(f"/initiatives/{slug}/preview/")
    assert 'name="password"' in body
    seen.from_primary("preview, signed out", replica_asked=False, reads=False)


@pytest.mark.replicas
def test_while_the_replica_lags_a_save_shows_at_once_from_the_primary(servers):
    slug, title = newest(servers)
    gone_slug, gone_title = newest(servers, 2)
    servers.sql(servers.replica, "SELECT pg_wal_replay_pause()")
    try:
        deadline = time.monotonic() + 10
        while servers.sql(servers.replica, "SELECT pg_get_wal_replay_pause_state()")[0][0] != (
            "paused"
        ):
            assert time.monotonic() < deadline, "replay did not pause"
            time.sleep(0.05)
        new_title = shown("Renamed while the replica lags")
        servers.edit(slug, title=new_title)
        servers.edit(gone_slug, status="draft")
        time.sleep(0.5)  # the replica has received the WAL by now, and not replayed it
        assert servers.sql(
            servers.replica, "SELECT title FROM catalogue_initiative WHERE slug = %s", slug
        ) == [(title,)]

        for path in SHOWS_TITLE:
            body, seen = servers.get(path)
            assert new_title in body, path
            assert title not in body, path
            seen.from_primary(path)
        for path in LISTS:
            body, seen = servers.get(path)
            assert gone_slug not in body, path
            assert gone_title not in body, path
        body, seen = servers.get(f"/initiatives/{slug}/")
        assert new_title in body
        seen.from_primary("the edited case study")
        status, _, _ = fetch(servers.gunicorn.base_url, f"/initiatives/{gone_slug}/")
        assert status == 404
        status, _, _ = fetch(servers.gunicorn.base_url, f"/api/v1/initiatives/{gone_slug}/")
        assert status == 404
    finally:
        servers.sql(servers.replica, "SELECT pg_wal_replay_resume()")

    # Replaying again: once the replica has the primary's version, reads go back to it.
    servers.edit(gone_slug, status="published")
    servers.replayed()
    for path in SHOWS_TITLE:
        body, seen = servers.get(path)
        assert new_title in body, path
        seen.from_replica(path)
    for path in LISTS:
        body, _ = servers.get(path)
        assert gone_slug in body, path
    assert not servers.warnings()


@pytest.mark.replicas
def test_while_the_replica_is_down_every_page_comes_from_the_primary(servers):
    slug, _ = newest(servers)
    servers.replica.stop(mode="immediate")
    try:
        down_title = shown("Renamed while the replica is down")
        servers.edit(slug, title=down_title)
        for round in range(2):
            for path in public_paths(slug):
                body, seen = servers.get(path)
                assert not seen.replica
                # The second time round a page may come from the cache, reading nothing;
                # insights' figures may all come from the facet index, in memory.
                seen.from_primary(path, reads=round == 0 and not path.startswith("/insights/"))
            for path in [*SHOWS_TITLE, f"/initiatives/{slug}/"]:
                body, _ = servers.get(path)
                assert down_title in body, path
            # One warning per outage and process (gunicorn runs two), not one per request.
            warnings = servers.warnings()
            assert 1 <= len(warnings) <= 2, warnings
            assert {line["replica"] for line in warnings} == {"replica1"}
            if round == 0:
                time.sleep(RETRY + 0.5)  # tried again, still down: no new warning
        lines = servers.gunicorn.log_lines()
        assert not [line for line in lines if line.get("status", 200) >= 500]
        assert "Traceback" not in servers.gunicorn.stderr.read_text()
    finally:
        servers.replica.start(STANDBY_OPTIONS)

    servers.replayed()
    # Each process tries the replica again after DJANGO_REPLICA_RETRY seconds: after that,
    # every request reads from it.
    deadline = time.monotonic() + RETRY + 15
    in_a_row = 0
    while in_a_row < 6:
        assert time.monotonic() < deadline, "reads did not return to the replica"
        body, seen = servers.get("/api/v1/initiatives/")
        assert down_title in body
        in_a_row = in_a_row + 1 if Seen.reads(seen.replica) else 0
        time.sleep(0.1)
    # Every output, at a new version (nothing of it cached yet).
    servers.edit(slug, title=shown("Renamed once the replica is back"))
    servers.replayed()
    for path in public_paths(slug):
        _, seen = servers.get(path)
        seen.from_replica(path)
    lines = servers.gunicorn.log_lines()
    back = [line for line in lines if "reachable again" in line.get("message", "")]
    assert back
