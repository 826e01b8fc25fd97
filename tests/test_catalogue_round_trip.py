"""export_catalogue and import_catalogue: a round trip loses nothing, the file format,
stdin and stdout, users linked by username, and a non-empty catalogue or differing
reference data refused before anything is written."""

import io
import json
import re
import sys
from datetime import datetime

import pytest
from django.apps import apps

from catalogue import transfer
from catalogue.models import (
    Barrier,
    Initiative,
    Metric,
    Organisation,
    Partnership,
    Source,
    Theme,
)
from tests.readers import DERIVED, export, import_, snapshot
from tests.transfer_support import (
    SECTIONS,
    empty_catalogue,
    import_error,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("reference_data", ["kept", "emptied"])
def test_round_trip_loses_nothing(catalogue, tmp_path, reference_data):
    path = tmp_path / "out.json"
    export(path)
    before = snapshot()
    # The catalogue under test is not trivial: every state and link is there.
    assert len(before["catalogue.Initiative"]) == 26  # 22 seed records and 4 more
    assert {row["status"] for row in before["catalogue.Initiative"].values()} == set(
        Initiative.Status.values
    )
    assert {row["role"] for row in before["catalogue.Partnership"].values()} == set(
        Partnership.Role.values
    )
    assert any(row["source_id"] for row in before["catalogue.Metric"].values())
    assert any(row["created_by_id"] for row in before["catalogue.Initiative"].values())
    assert any(row["region"] for row in before["catalogue.Place"].values())

    empty_catalogue(reference_data=reference_data == "emptied")
    assert not Initiative.objects.exists() and not Organisation.objects.exists()
    assert Theme.objects.exists() == (reference_data == "kept")

    out, _ = import_(path)
    after = snapshot()
    for model, rows in before.items():
        assert after[model] == rows, model
    assert after == before
    if reference_data == "kept":
        assert "(Already present and kept: " in out
        for name in ("barriers", "drivers", "outcomes", "places", "sectors", "themes"):
            assert f" {name}" in out.split("Already present and kept:")[1]
    else:
        assert "already present" not in out


def test_round_trip_in_small_chunks_gives_the_same_file(catalogue, tmp_path):
    """Tags are fetched chunk by chunk: chunk boundaries must not lose or move any."""
    export(tmp_path / "big.json")
    export(tmp_path / "small.json", chunk_size=2)
    big = json.loads((tmp_path / "big.json").read_text())
    small = json.loads((tmp_path / "small.json").read_text())
    big.pop("exported_at"), small.pop("exported_at")
    assert small == big

    empty_catalogue(reference_data=True)
    before_ids = sorted(i["id"] for i in big["initiatives"])
    import_(tmp_path / "small.json", batch_size=3)
    export(tmp_path / "again.json")
    again = json.loads((tmp_path / "again.json").read_text())
    again.pop("exported_at")
    assert again == big
    assert sorted(Initiative.objects.values_list("pk", flat=True)) == before_ids


def test_every_catalogue_model_is_exported():
    managed = {m for m in apps.get_app_config("catalogue").get_models() if m._meta.managed}
    assert {section.model for section in transfer.SECTIONS} == managed - transfer.NOT_EXPORTED
    assert [section.name for section in transfer.SECTIONS] == SECTIONS


def test_file_format(catalogue, tmp_path, users):
    path = tmp_path / "out.json"
    export(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == ["format", "version", "exported_at", *SECTIONS]
    assert data["format"] == "catalogue-export"
    assert data["version"] == 2
    assert datetime.fromisoformat(data["exported_at"]).tzinfo is not None

    full = next(i for i in data["initiatives"] if i["slug"] == "burgerservice-zurich")
    assert "search_vector" not in full
    assert full["title"] == "Bürgerservice digital: Zürich ✓ 東京"
    assert full["created_by"] == "alice" and full["updated_by"] == "bøb"
    assert full["published_at"] == "2024-03-01T12:30:15.123456+00:00"
    assert full["updated_at"] == "2024-04-01T09:10:11.000123+00:00"
    assert full["pstw_id"] == "PSTW-00042" and full["nuts_code"] == "UKM75"
    assert full["lead_organisation"] == catalogue["lead"].pk
    assert full["themes"] == sorted(catalogue["full"].themes.values_list("pk", flat=True))
    assert len(full["places"]) == 3
    metric = next(m for m in data["metrics"] if m["label"] == "Kosten ✓")
    assert metric["value"] == "123456789012.34"  # a string: never rounded through a float
    assert metric["source"] == Source.objects.get(title="Évaluation finale ✓").pk
    source = next(s for s in data["sources"] if s["title"] == "Évaluation finale ✓")
    assert source["published_on"] == "2023-05-06"
    # Written as UTF-8 text, not \u escapes; records one to a line, sorted by id.
    text = path.read_text(encoding="utf-8")
    assert "東京" in text
    assert [i["id"] for i in data["initiatives"]] == sorted(i["id"] for i in data["initiatives"])
    assert text.count("\n") > sum(len(data[name]) for name in SECTIONS)
    # Every model field but the derived ones, and the tags.
    assert set(full) == {"id"} | {
        f.name
        for f in Initiative._meta.concrete_fields
        if f.name not in DERIVED and not f.primary_key
    } | {"drivers", "themes", "outcomes", "barriers", "places"}


def test_export_to_stdout(catalogue, tmp_path):
    out, err = export("-")
    data = json.loads(out)  # nothing but the JSON on stdout
    assert data["format"] == "catalogue-export"
    assert len(data["initiatives"]) == Initiative.objects.count()
    assert re.fullmatch(
        r"Exported 26 initiatives, \d+ organisations, \d+ partnerships, \d+ sources, "
        r"\d+ quotes, \d+ metrics, \d+ taxonomy terms and \d+ places to standard output in "
        r"\d+\.\d s\.\n",
        err,
    )
    export(tmp_path / "out.json")
    from_file = json.loads((tmp_path / "out.json").read_text())
    data.pop("exported_at"), from_file.pop("exported_at")
    assert data == from_file


def test_summaries_and_progress(seed_catalogue, tmp_path):
    path = tmp_path / "out.json"
    out, err = export(path, verbosity=2)
    assert re.fullmatch(
        r"Exported 22 initiatives, \d+ organisations, \d+ partnerships, \d+ sources, "
        rf"\d+ quotes, 1 metric, 44 taxonomy terms and 31 places to {re.escape(str(path))} "
        r"in \d+\.\d s\.\n",
        out,
    )
    assert "  initiatives: 22 (" in err
    assert not list(tmp_path.glob(".*partial"))  # the temporary file was renamed

    empty_catalogue(reference_data=True)
    out, err = import_(path, verbosity=2)
    assert re.fullmatch(
        r"Imported 22 initiatives, \d+ organisations, \d+ partnerships, \d+ sources, "
        r"\d+ quotes, 1 metric, 44 taxonomy terms and 31 places from \S+ in \d+\.\d s\.\n",
        out,
    )
    assert "  checked initiatives: 22 (" in err
    assert "  imported metrics: 1 (" in err


def test_import_from_stdin(seed_catalogue, tmp_path, monkeypatch):
    out, _ = export("-")
    before = snapshot()
    empty_catalogue(reference_data=True)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(out.encode())))
    result, _ = import_("-")
    assert "from standard input" in result
    assert snapshot() == before


def test_users_are_linked_by_username_or_left_empty(catalogue, tmp_path, users):
    path = tmp_path / "out.json"
    export(path)
    full = catalogue["full"]
    # A new database has its own users: alice under another id, and no bøb.
    users["alice"].delete()
    users["bøb"].delete()
    new_alice = type(users["alice"]).objects.create_user("alice")
    empty_catalogue()

    out, err = import_(path)
    full = Initiative.objects.get(pk=full.pk)
    assert full.created_by == new_alice
    assert full.updated_by is None
    assert Initiative.objects.get(pk=catalogue["draft"].pk).created_by == new_alice
    # bøb was the updater of two initiatives.
    assert "2 created_by/updated_by links left empty: no user named bøb." in err
    assert out.rstrip().endswith("2 user links left empty.")


def test_refuses_a_catalogue_that_is_not_empty_and_changes_nothing(catalogue, tmp_path):
    path = tmp_path / "out.json"
    export(path)
    before = snapshot()
    message = import_error(path)
    assert message.startswith("The catalogue is not empty (")
    assert "26 initiatives" in message and "Nothing was imported." in message
    assert snapshot() == before

    # One record left behind is enough to refuse.
    Metric.objects.all().delete()
    Source.objects.all().delete()
    Partnership.objects.all().delete()
    Initiative.objects.exclude(pk=catalogue["full"].pk).delete()
    Organisation.objects.exclude(pk=catalogue["lead"].pk).delete()
    message = import_error(path)
    assert "(1 organisation and 1 initiative)" in message


def test_adds_the_terms_a_database_lacks(catalogue, tmp_path):
    """A freshly migrated database has the reference vocabularies; the file may hold more."""
    extra = Theme.objects.create(name="Only in the file", slug="only-in-the-file")
    path = tmp_path / "out.json"
    export(path)
    before = snapshot()
    empty_catalogue()
    Theme.objects.filter(pk=extra.pk).delete()
    out, _ = import_(path)
    assert "Already present and kept: " in out
    assert snapshot() == before
    assert Theme.objects.get(slug="only-in-the-file").pk == extra.pk


def test_refuses_reference_data_that_differs(catalogue, tmp_path):
    path = tmp_path / "out.json"
    export(path)
    empty_catalogue()
    cloud = Theme.objects.get(slug="cloud")
    cloud.name = "Cloud computing"
    cloud.save()
    Barrier.objects.create(name="Extra barrier", slug="extra-barrier")
    before = snapshot()

    message = import_error(path)
    assert f"id {cloud.pk} has name 'Cloud computing' in the database but 'Cloud' in the file" in (
        message
    )
    barrier = Barrier.objects.get(slug="extra-barrier")
    assert (
        "barriers: the database already has barriers, and they are not the file's "
        f"(id {barrier.pk} is only in the database)"
    ) in message
    assert "drivers:" not in message  # identical, so fine
    assert snapshot() == before
