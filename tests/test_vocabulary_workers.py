"""Vocabulary terms seen alike by every worker, whoever changed them and from where.

Two real gunicorn workers (gunicorn.conf.py, production settings, each with its own
in-process cache) serve the test database. Every page reads the vocabularies; a term renamed
or added here, outside the server (as a shell or import_pstw would), must show on the very
next request to either worker, where it used to wait for each worker's hour-long copy to
expire.
"""

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from catalogue.models import Theme
from tests.factories import InitiativeFactory
from tests.support import Gunicorn, fetch, manage, production_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # transaction=True empties every table: the reference data is put back (conftest.py).
    pytest.mark.usefixtures("reference_data"),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="several app servers run on PostgreSQL"
    ),
]

# Enough requests that both workers answer some (the kernel shares connections out).
REQUESTS = 24


def database_url():
    db = connection.settings_dict
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{port}/{db['NAME']}"


@pytest.fixture
def workers():
    # The previous test's end emptied every table, the vocabularies too.
    call_command("loaddata", settings.BASE_DIR / "fixtures" / "taxonomies.json", verbosity=0)
    directory = Path(tempfile.mkdtemp(prefix="catalogue-workers-"))
    env = production_env(directory, database_url())
    manage(env, "collectstatic", "--no-input", "-v", "0")
    server = Gunicorn(env, directory)
    server.env["GUNICORN_THREADS"] = "1"
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def theme_names(server, path):
    names = []
    for _ in range(REQUESTS):
        status, _headers, body = fetch(server.base_url, path)
        assert status == 200, body[:500]
        names.append(body)
    return names


def test_a_renamed_term_shows_on_every_worker_at_once(workers):
    InitiativeFactory.create_batch(2, themes=["cloud"])
    before = theme_names(workers, "/initiatives/?theme=cloud")
    assert all("Cloud" in body for body in before)
    assert workers.workers_booted() == 2

    Theme.objects.filter(slug="cloud").update(name="Cloud hosting")

    after = theme_names(workers, "/initiatives/?theme=cloud")
    stale = [n for n, body in enumerate(after) if not re.search(r"Cloud hosting", body)]
    assert not stale, f"{len(stale)} of {REQUESTS} responses still showed the old name"


def test_a_term_added_outside_the_server_filters_at_once(workers):
    InitiativeFactory(themes=["cloud"])
    for body in theme_names(workers, "/api/v1/initiatives/?theme=cloud"):
        assert '"count":1' in body.replace(" ", "")

    added = Theme.objects.create(name="Quantum", slug="quantum")
    InitiativeFactory(themes=["quantum"])

    for n in range(REQUESTS):
        status, _headers, body = fetch(workers.base_url, f"/api/v1/initiatives/?theme={added.slug}")
        assert status == 200, f"request {n}: {status} {body[:300]}"
        assert '"count":1' in body.replace(" ", "")
