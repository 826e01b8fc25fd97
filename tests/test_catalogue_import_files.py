"""import_catalogue refuses files that are not a whole export (any JSON or text,
unparseable, truncated, the wrong format or version, misshapen, missing) with a message;
the stream reader; and the catalogue after an import."""

import io
import json
from types import GeneratorType

import pytest
from django.core.management.base import CommandError
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from catalogue.importing.restore import Restorer
from catalogue.models import (
    Initiative,
    Theme,
)
from catalogue.search import search
from catalogue.transfer import JSONStream, JSONStreamError, evaluate
from tests.factories import (
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
)
from tests.readers import export, import_, snapshot
from tests.transfer_support import (
    ANY_INPUT,
    JSON_VALUES,
    RECORDS,
    empty_catalogue,
    import_error,
)

pytestmark = pytest.mark.django_db


@ANY_INPUT
@given(document=JSON_VALUES, header=st.booleans())
def test_any_json_document_is_refused_with_a_message(db, tmp_path, document, header):
    if header:
        document = {"format": "catalogue-export", "version": 2, "drivers": [document]}
    path = tmp_path / "any.json"
    before = snapshot()
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError):
        import_(path)
    assert snapshot() == before


@ANY_INPUT
@given(text=st.text(max_size=200))
def test_any_text_is_refused_with_a_message(db, tmp_path, text):
    path = tmp_path / "any.json"
    before = snapshot()
    path.write_text('{"format": "catalogue-export", "version": 2, "drivers": [' + text)
    with pytest.raises(CommandError):
        import_(path)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is not a catalogue export: the file is empty (line 1, column 1)."),
        ("hello", "is not a catalogue export: invalid JSON: expected a JSON object, found 'h'"),
        ("[1, 2]", "is not a catalogue export: the document is not a JSON object"),
        ('{"format": "catalogue-export", "version": 2, "drivers": [{"id": 1,}]}', "invalid JSON"),
        ('{"format": "catalogue-export", "version": 2,\n "drivers": [\n{"id": 1', "(line 3,"),
        ('{"format": "catalogue-export" "version": 1}', "expected ',' or '}' after a value"),
    ],
)
def test_unparseable_json_is_refused(db, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    error = import_error(path)
    assert error.startswith(str(path))
    assert message in error


def test_a_truncated_export_is_refused_and_nothing_written(catalogue, tmp_path):
    path = tmp_path / "out.json"
    export(path)
    text = path.read_text()
    path.write_text(text[: len(text) * 3 // 4])
    empty_catalogue(reference_data=True)
    error = import_error(path)
    assert "is not a catalogue export: invalid JSON" in error
    assert all(not rows for rows in snapshot().values())


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"format": "something-else", "version": 1}, "its format is 'something-else'"),
        ({"version": 1}, "its format is missing, not 'catalogue-export'"),
        ({"format": "catalogue-export", "version": 3}, "is version 3 of the catalogue-export "),
        ({"format": "catalogue-export", "version": 1}, "is version 1 of the catalogue-export "),
        ({"format": "catalogue-export", "version": "2"}, "is version '2' of the"),
        ({"format": "catalogue-export"}, "has no version before the data"),
    ],
)
def test_wrong_format_or_version_is_refused(seed_catalogue, tmp_path, header, message):
    path = tmp_path / "out.json"
    export(path)
    data = json.loads(path.read_text())
    for key in ("format", "version", "exported_at"):
        data.pop(key)
    path.write_text(json.dumps(header | data))
    empty_catalogue(reference_data=True)
    error = import_error(path)
    assert message in error
    assert "this command reads version 2 only" in error or "not a catalogue export" in error
    assert not Theme.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("metrics"), "the file has no metrics array"),
        (lambda d: d.update(extra=[]), "found 'extra' (an unknown key) where the end should be"),
        (lambda d: d.update(themes=d.pop("themes")), "found 'outcomes' (out of order) where"),
        (lambda d: d.update(themes={}), "'themes' must be an array of records"),
        (lambda d: d.update(version=d.pop("version")), "has no version before the data"),
    ],
)
def test_misshapen_files_are_refused(seed_catalogue, tmp_path, change, message):
    path = tmp_path / "out.json"
    export(path)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    empty_catalogue(reference_data=True)
    assert message in import_error(path)
    assert not Theme.objects.exists()


def test_missing_file_is_refused(db, tmp_path):
    assert "does not exist or is not a file" in import_error(tmp_path / "nowhere.json")


def test_new_records_after_import_do_not_collide(seed_catalogue, tmp_path):
    path = tmp_path / "out.json"
    export(path)
    empty_catalogue()
    if connection.vendor == "postgresql":
        # As in a fresh database, whose sequences start at 1.
        with connection.cursor() as cursor:
            for model in RECORDS:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), 1, false)",
                    [model._meta.db_table],
                )
    import_(path)
    initiative = InitiativeFactory()  # an organisation, initiative, links and source
    PartnershipFactory(initiative=initiative)
    MetricFactory(initiative=initiative)
    assert initiative.pk > 22


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="The search vector and its triggers exist on PostgreSQL only.",
)
def test_search_works_after_import(catalogue, tmp_path):
    partner = OrganisationFactory(name="Quokkaworks Analytics")
    PartnershipFactory(initiative=catalogue["full"], organisation=partner)
    path = tmp_path / "out.json"
    export(path)
    vectors = dict(Initiative.objects.values_list("pk", "search_vector"))
    assert all(vectors.values())
    empty_catalogue(reference_data=True)

    import_(path)
    # The triggers rebuilt every vector as before, partner names included.
    assert dict(Initiative.objects.values_list("pk", "search_vector")) == vectors
    assert list(search(Initiative.objects.all(), "quokkaworks")) == [catalogue["full"]]
    assert list(search(Initiative.objects.all(), "Bürgerservice")) == [catalogue["full"]]


@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 20])
def test_stream_reader_agrees_with_json(monkeypatch, chunk):
    document = {
        "format": "x",
        "n": -12.5e3,
        "flag": True,
        "nothing": None,
        "nested": {"a": [1, {"b": "c"}]},
        "empty": [],
        "records": [{"text": 'quote " and \\ and \u00e9 \U0001f600'}, 1234567890, "ü", [[]]],
        "last": [0],
    }
    text = json.dumps(document, indent=1)
    monkeypatch.setattr(JSONStream, "CHUNK", chunk)
    read = {
        key: list(value) if isinstance(value, GeneratorType) else value
        for key, value in JSONStream(io.StringIO(text)).items()
    }
    assert read == document


def test_stream_reader_reports_where_the_error_is(monkeypatch):
    monkeypatch.setattr(JSONStream, "CHUNK", 4)
    stream = JSONStream(io.StringIO('{"a": [1,\n 2,\n 3 4]}'))
    with pytest.raises(JSONStreamError) as error:
        for _key, value in stream.items():
            list(value)
    assert (error.value.line, error.value.column) == (3, 4)


@pytest.mark.parametrize(
    ("values", "result"),
    [
        ({"start_year": None, "end_year": None}, True),
        ({"start_year": 2020, "end_year": None}, True),
        ({"start_year": 2020, "end_year": 2021}, True),
        ({"start_year": 2020, "end_year": 2019}, False),
    ],
)
def test_check_constraints_are_evaluated_as_sql_would(values, result):
    constraint = next(
        c for c in Initiative._meta.constraints if c.name == "initiative_end_after_start"
    )
    assert evaluate(constraint.condition, values) is result


def test_a_file_changed_between_check_and_insert_is_refused(seed_catalogue, tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    export(path)
    empty_catalogue(reference_data=True)
    check_file = Restorer.check_file

    def check_then_change(self, checked):
        check_file(self, checked)
        with open(checked, "a") as stream:
            stream.write("\n")

    monkeypatch.setattr(Restorer, "check_file", check_then_change)
    assert "changed while it was being imported" in import_error(path)
    assert all(not rows for rows in snapshot().values())


def test_export_to_a_missing_directory_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        export(tmp_path / "nowhere" / "out.json")
