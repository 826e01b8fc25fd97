"""Backups as docs/backups.md does them, restored into empty databases.

- pg_dump (through ops/backup.py) and pg_restore into a new database: every table the same
  row by row, the same schema (search triggers and functions included), sequences, and a
  database that works: /readyz, search, new records, and `ops/backup.py verify`.
- The lossless export into freshly migrated databases (on PostgreSQL: PostgreSQL to SQLite
  and back): the catalogue the same, record by record. The round trip in place, the file
  format and refusals are tested in tests/test_catalogue_round_trip.py and
  tests/test_catalogue_import_*.py.
"""

import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import reversion
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections
from django.db.utils import load_backend
from psycopg import sql
from psycopg.conninfo import make_conninfo

from catalogue import health, records, transfer, workflow
from catalogue.models import Initiative
from catalogue.search import rank, search
from tests.admin_support import member_of
from tests.caches import clear_caches
from tests.factories import InitiativeFactory
from tests.readers import export, import_, snapshot
from tests.support import require

# The transaction=True tests empty every table: put the reference data back (conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_data")]

ON_POSTGRES = connection.vendor == "postgresql"
SCRIPT = settings.BASE_DIR / "ops" / "backup.py"
# Matches records of the seed catalogue and the test's own, in title, summary and partners.
QUERY = "digital OR data OR quokkaworks"
# Tables of the apps whose every row a pg_dump restore must bring back.
APPS = ("catalogue", "auth", "reversion")


postgres_only = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="pg_dump backs up PostgreSQL only; run with DATABASE_URL=postgres://... (CI does).",
)


@pytest.fixture
def with_history(catalogue, client):
    """The transfer tests' catalogue (every status, partners, sources, metrics, tags), with
    history revisions by an editor who is signed in (so there is a session too)."""
    editor = member_of("Editors", "eddie")
    editor.user_permissions.add(Permission.objects.get(codename="view_logentry"))
    for initiative in (catalogue["full"], catalogue["draft"], catalogue["archived"]):
        with reversion.create_revision():
            reversion.set_user(editor)
            reversion.set_comment("Checked the sources")
            initiative.save()
            workflow.record_step(initiative, "edited", "Checked the sources")
    # And a proposal waiting for a Publisher.
    live = catalogue["full"]
    proposed = records.snapshot(live)
    proposed["fields"]["title"] = "A proposed title"
    workflow.propose(live, records.snapshot(live), proposed, editor, "A clearer title")
    client.force_login(editor)
    return catalogue


# ---- databases --------------------------------------------------------------------------


def libpq(settings_dict, name):
    """(connection string without the password, environment with it) for a database."""
    params = {
        "dbname": name,
        "host": settings_dict["HOST"],
        "port": settings_dict["PORT"],
        "user": settings_dict["USER"],
    }
    env = dict(os.environ)
    if settings_dict["PASSWORD"]:
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return make_conninfo("", **{k: str(v) for k, v in params.items() if v}), env


@pytest.fixture
def new_database():
    """Makes empty PostgreSQL databases named after the test database; drops them after the
    test, whatever happened."""
    settings_dict = dict(connection.settings_dict)
    maintenance, env = libpq(settings_dict, "postgres")
    made = []

    def admin(statement):
        with psycopg.connect(maintenance, password=env.get("PGPASSWORD")) as conn:
            conn.autocommit = True
            conn.execute(statement)

    def make(suffix):
        name = f"{settings_dict['NAME']}_{suffix}"
        quoted = sql.Identifier(name)
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(quoted))
        made.append(name)
        # template0: empty, as a new server's database would be (template1 may hold extras).
        admin(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(quoted))
        return {**settings_dict, "NAME": name}

    yield make
    for name in made:
        quoted = sql.Identifier(name)
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(quoted))


def new_sqlite_database(path):
    return {
        **connection.settings_dict,
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {},
        **dict.fromkeys(("HOST", "PORT", "USER", "PASSWORD"), ""),
    }


@contextmanager
def connected_to(settings_dict):
    """The ORM, management commands and views use another database inside the block."""
    original = connections[DEFAULT_DB_ALIAS]
    backend = load_backend(settings_dict["ENGINE"])
    other = backend.DatabaseWrapper(settings_dict, DEFAULT_DB_ALIAS)
    connections[DEFAULT_DB_ALIAS] = other
    ContentType.objects.clear_cache()
    clear_caches()
    try:
        yield other
    finally:
        other.close()
        connections[DEFAULT_DB_ALIAS] = original
        ContentType.objects.clear_cache()
        clear_caches()


@pytest.fixture
def pg_bin():
    """The directory of pg_dump and pg_restore of the server's major version: $PG_BIN,
    Debian's /usr/lib/postgresql/N/bin, or the PATH's."""
    major = connection.pg_version // 10000
    candidates = [
        os.environ.get("PG_BIN"),
        f"/usr/lib/postgresql/{major}/bin",
        os.path.dirname(shutil.which("pg_dump") or ""),
    ]
    for directory in filter(None, candidates):
        pg_dump = Path(directory, "pg_dump")
        if not (pg_dump.is_file() and Path(directory, "pg_restore").is_file()):
            continue
        version = subprocess.run([pg_dump, "--version"], capture_output=True, text=True).stdout
        if re.search(rf"\) {major}\b", version):
            return directory
    require(False, f"pg_dump and pg_restore {major} (the server's version) not found; set PG_BIN")


def backup_script(pg_bin, settings_dict, *args):
    database, env = libpq(settings_dict, settings_dict["NAME"])
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--database", database, *args],
        env={**env, "PG_BIN": pg_bin},
        capture_output=True,
        text=True,
    )


# ---- what is compared ---------------------------------------------------------------------


def every_row(settings_dict):
    """{table: (columns, rows)} for every table, rows in a fixed order, and the sequences'
    positions, read with psycopg so both databases' values come through the same adapter."""
    conninfo, env = libpq(settings_dict, settings_dict["NAME"])
    with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        data = {}
        for table in tables:
            cursor = conn.execute(sql.SQL("SELECT * FROM {}").format(
                sql.Identifier(table)
            ))  # fmt: skip
            columns = [column.name for column in cursor.description]
            data[table] = (columns, sorted(cursor.fetchall(), key=repr))
        data["sequences"] = conn.execute(
            "SELECT sequencename, last_value FROM pg_sequences ORDER BY 1"
        ).fetchall()
    return data


def schema(pg_bin, settings_dict):
    """The database's schema as pg_dump writes it: tables, indexes, constraints, functions,
    triggers and sequences."""
    database, env = libpq(settings_dict, settings_dict["NAME"])
    text = subprocess.run(
        [Path(pg_bin, "pg_dump"), "--schema-only", "--no-owner", f"--dbname={database}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = []
    for line in text.splitlines():
        # \restrict lines carry a random key, different at every run.
        if re.match(r"\\(un)?restrict ", line):
            continue
        # A restored CHECK (x IN (...)) prints its casts in other places (PostgreSQL deparses
        # the parsed expression); the condition is the same, and is exercised in the test.
        lines.append(re.sub(r"(CONSTRAINT \w+ CHECK) .*", r"\1 ...", line))
    return lines


def catalogue_rows(exported=False):
    """Every catalogue record (tests/test_catalogue_round_trip.py), with users by username:
    a restored export links records to the new database's accounts of the same name.
    With exported, only what an export carries (not the editorial history or proposals,
    which a pg_dump keeps)."""
    usernames = dict(get_user_model().objects.values_list("pk", "username"))
    data = snapshot()
    if exported:
        for model in transfer.NOT_EXPORTED:
            del data[model._meta.label]
    for model in apps.get_app_config("catalogue").get_models():
        user_fields = [
            f.attname for f in model._meta.concrete_fields if f.related_model is get_user_model()
        ]
        for row in data.get(model._meta.label, {}).values():
            for attname in user_fields:
                row[attname] = usernames.get(row[attname])
    return data


def body(path):
    return path.read_text(encoding="utf-8").split("\n", 1)[1]


def found(text):
    return list(rank(search(Initiative.objects.all(), text), text).values_list("pk", flat=True))


def ready(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    response = client.get("/readyz")
    return response.status_code, response.json()


# ---- pg_dump ------------------------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)  # committed, so that pg_dump (another session) sees it
def test_pg_dump_restores_into_an_empty_database(
    with_history, pg_bin, new_database, tmp_path, client, monkeypatch
):
    source = dict(connection.settings_dict)
    before = every_row(source)
    app_tables = {
        model._meta.db_table
        for label in APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }
    # Nothing vacuous: every table of the app, auth and history has rows.
    assert {table for table in app_tables if not before[table][1]} == set()
    assert before["django_session"][1]
    hits = found(QUERY)
    assert len(hits) > 5
    last_id = Initiative.objects.order_by("pk").last().pk

    made = backup_script(pg_bin, source, "dump", str(tmp_path))
    assert made.returncode == 0, made.stderr
    (archive,) = tmp_path.glob("catalogue-*.dump")
    (manifest,) = tmp_path.glob("catalogue-*.manifest.json")
    assert not list(tmp_path.glob(".*partial"))

    restored = new_database("restored")
    database, env = libpq(restored, restored["NAME"])
    subprocess.run(  # as docs/backups.md has it
        [
            Path(pg_bin, "pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={database}",
            archive,
        ],
        env=env,
        check=True,
    )

    after = every_row(restored)
    assert after.keys() == before.keys()
    assert app_tables <= after.keys()
    for table in before:
        assert after[table] == before[table], table
    assert schema(pg_bin, restored) == schema(pg_bin, source)
    checked = backup_script(pg_bin, restored, "verify", str(manifest))
    assert checked.returncode == 0, checked.stderr
    assert re.fullmatch(r"All \d+ tables match the backup \([\d,]+ rows\)\.\n", checked.stdout)

    with connected_to(restored):
        assert ready(client, monkeypatch) == (
            200,
            {"status": "ok", "database": "ok", "migrations": "ok"},
        )
        assert found(QUERY) == hits
        # The sequences carry on past the restored ids, and the triggers index new records.
        new = InitiativeFactory(title="Wombat counting in Tasmania")
        assert new.pk > last_id
        assert found("wombat") == [new.pk]
        with pytest.raises(IntegrityError, match="initiative_status_valid"):
            Initiative.objects.filter(pk=new.pk).update(status="bogus")

    # verify notices the restored database has moved on from the backup.
    changed = backup_script(pg_bin, restored, "verify", str(manifest))
    assert changed.returncode == 1
    assert "catalogue_initiative: " in changed.stderr
    assert "catalogue_source: " in changed.stderr


@postgres_only
def test_backup_script_keeps_nothing_when_pg_dump_fails(tmp_path):
    failing = tmp_path / "bin"
    failing.mkdir()
    (failing / "pg_dump").write_text(
        "#!/bin/sh\n"
        'for a; do case $a in --file=*) echo half > "${a#--file=}";; esac; done\n'
        "echo 'pg_dump: error: could not write (simulated)' >&2; exit 1\n"
    )
    (failing / "pg_dump").chmod(0o755)
    backups = tmp_path / "backups"
    failed = backup_script(str(failing), connection.settings_dict, "dump", str(backups))
    assert failed.returncode == 1
    assert failed.stderr.endswith("pg_dump failed (exit status 1).\n")
    assert list(backups.iterdir()) == []


# ---- the lossless export ------------------------------------------------------------------


def test_export_restores_into_freshly_migrated_databases(
    with_history, new_database, tmp_path, client, monkeypatch
):
    """export_catalogue, then into an empty database: migrate, the accounts, import_catalogue.
    On PostgreSQL the file goes to SQLite, and SQLite's export back to a new PostgreSQL
    database: the export moves a catalogue between the two engines."""
    before = catalogue_rows(exported=True)
    assert before["catalogue.Initiative"]
    usernames = sorted(
        {
            row[attname]
            for row in before["catalogue.Initiative"].values()
            for attname in ("created_by_id", "updated_by_id")
        }
        - {None}
    )
    assert usernames == ["alice", "bøb"]
    hits = found(QUERY)
    targets = [new_sqlite_database(tmp_path / "restored.sqlite3")]
    if ON_POSTGRES:
        targets.append(new_database("imported"))

    path = tmp_path / "catalogue-0.json"
    export(path)
    for step, target in enumerate(targets, start=1):
        with connected_to(target) as database:
            call_command("migrate", verbosity=0)
            assert not Initiative.objects.exists()
            # Accounts are not in the file; records link to those of the same username.
            for username in usernames:
                get_user_model().objects.create_user(username)
            import_(path)

            assert catalogue_rows(exported=True) == before, database.vendor
            assert ready(client, monkeypatch)[0] == 200
            if database.vendor == "postgresql":
                assert found(QUERY) == hits
            # docs/backups.md's check: exported again, the same file but for its first line
            # (format, version and when).
            again = tmp_path / f"catalogue-{step}.json"
            export(again)
            assert body(again) == body(path), database.vendor
            path = again
