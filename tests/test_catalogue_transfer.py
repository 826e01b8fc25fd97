"""export_catalogue and import_catalogue: a round trip loses nothing, and a bad file or a
non-empty catalogue is refused before anything is written."""

import io
import json
import re
import sys
from collections import defaultdict
from datetime import datetime
from types import GeneratorType

import pytest
from django.apps import apps
from django.core.management.base import CommandError
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogue import transfer
from catalogue.importing.restore import Restorer
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
from catalogue.search import search
from catalogue.transfer import JSONStream, JSONStreamError, evaluate
from tests.factories import (
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
)
from tests.readers import DERIVED, export, import_, snapshot

pytestmark = pytest.mark.django_db

RECORDS = (Metric, Source, Partnership, Initiative, Organisation)
REFERENCE_DATA = (Driver, Theme, Outcome, Barrier, Sector, Place)
SECTIONS = [
    "drivers",
    "themes",
    "outcomes",
    "barriers",
    "sectors",
    "places",
    "organisations",
    "initiatives",
    "partnerships",
    "sources",
    "quotes",
    "metrics",
]


def empty_catalogue(reference_data=False):
    for model in RECORDS + (REFERENCE_DATA if reference_data else ()):
        model._default_manager.all().delete()


def import_error(path):
    with pytest.raises(CommandError) as error:
        import_(path)
    return str(error.value)


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


def test_reports_every_bad_record_and_writes_nothing(catalogue, tmp_path):
    path = tmp_path / "out.json"
    export(path)
    data = json.loads(path.read_text())
    initiatives, places = data["initiatives"], data["places"]

    def index(section, **match):
        records = data[section]
        return next(i for i, r in enumerate(records) if r.items() >= match.items())

    def where(section, i):
        record = data[section][i]
        if "slug" in record:
            return f"{section}[{i}] (slug {record['slug']!r})"
        return f"{section}[{i}] (id {record['id']})"

    full = index("initiatives", slug="burgerservice-zurich")
    draft = index("initiatives", slug=catalogue["draft"].slug)
    archived = index("initiatives", slug=catalogue["archived"].slug)
    london = index("places", country="GB", region="TLI")
    first_slug = initiatives[0]["slug"]
    last_metric = len(data["metrics"]) - 1
    repeated_id = data["partnerships"][1]["id"]

    initiatives[1]["lead_organisation"] = 999999
    initiatives[2]["status"] = "bogus"
    initiatives[3]["slug"] = first_slug
    initiatives[4]["themes"].append(999999)
    initiatives[5]["colour"] = "red"
    initiatives[5]["pstw_id"] = "PSTW-00042"  # the full record's
    initiatives[6]["status"] = "published"
    initiatives[6]["published_at"] = None
    initiatives[full]["end_year"] = 2010
    initiatives[draft]["published_at"] = "yesterday"
    initiatives[archived]["created_at"] = "2024-01-01T00:00:00"
    data["organisations"][0]["kind"] = "cabal"
    places[london]["country"] = "FR"
    data["partnerships"][0]["role"] = "sponsor"
    data["partnerships"][2]["id"] = repeated_id
    data["sources"][0]["published_on"] = "2024-02-30"
    data["metrics"][0]["value"] = "a lot"
    # The very last record: an import that did not check everything before writing would
    # have written all the rest by the time it got here.
    data["metrics"][last_metric]["source"] = 999999
    path.write_text(json.dumps(data))
    expected = [
        f"{where('initiatives', 1)}: lead_organisation 999999 does not exist",
        f"{where('initiatives', 2)}: status: Value 'bogus' is not a valid choice.",
        f"{where('initiatives', 3)}: slug {first_slug!r} is also used by initiatives[0]",
        f"{where('initiatives', 4)}: themes 999999 does not exist",
        f"{where('initiatives', 5)}: unknown field 'colour'",
        f"{where('initiatives', full)}: pstw_id 'PSTW-00042' is also used by initiatives[5]",
        f"{where('initiatives', 6)}: Constraint “initiative_published_has_date” is violated.",
        f"{where('initiatives', full)}: The end year cannot be before the start year.",
        f"{where('initiatives', draft)}: published_at: “yesterday” value has an invalid format.",
        f"{where('initiatives', archived)}: created_at '2024-01-01T00:00:00' has no time zone",
        f"{where('organisations', 0)}: kind: Value 'cabal' is not a valid choice.",
        f"{where('places', london)}: Regions can only be given for the United Kingdom.",
        f"{where('partnerships', 0)}: role: Value 'sponsor' is not a valid choice.",
        f"{where('partnerships', 2)}: id {repeated_id} is also used by partnerships[1]",
        f"{where('sources', 0)}: published_on: “2024-02-30” value has the correct format "
        "(YYYY-MM-DD) but it is an invalid date.",
        f"{where('metrics', 0)}: value: “a lot” value must be a decimal number.",
        f"{where('metrics', last_metric)}: source 999999 does not exist",
    ]

    empty_catalogue(reference_data=True)
    lines = import_error(path).splitlines()
    assert lines[0] == f"{len(expected)} problems in {path}; nothing was imported:"
    for problem in expected:
        assert any(line.startswith(problem) for line in lines[1:]), problem
    assert len(lines) == len(expected) + 1
    # Nothing written, reference data included.
    assert all(not rows for rows in snapshot().values())


@pytest.fixture
def exported(seed_catalogue, tmp_path):
    """The seed catalogue exported, as data to spoil, and the catalogue emptied."""
    path = tmp_path / "out.json"
    export(path)
    empty_catalogue(reference_data=True)
    return json.loads(path.read_text())


def refused(tmp_path, data=None, text=None):
    """The problems import_catalogue reports in a file of `data` (or of `text`), having
    written nothing."""
    path = tmp_path / "spoilt.json"
    path.write_text(json.dumps(data) if text is None else text)
    message = import_error(path)
    assert all(not rows for rows in snapshot().values())
    return message


def where(data, section, index):
    record = data[section][index]
    if "slug" in record:
        return f"{section}[{index}] (slug {record['slug']!r})"
    return f"{section}[{index}] (id {record['id']})"


def test_an_id_of_thousands_of_digits_is_a_problem_of_its_record(exported, tmp_path):
    # int() reads at most 4,300 digits: json raised ValueError, a traceback.
    exported["initiatives"][3]["id"] = 123
    text = json.dumps(exported).replace('"id": 123,', '"id": ' + "9" * 5000 + ",", 1)
    message = refused(tmp_path, text=text)
    assert (
        f"{where(exported, 'initiatives', 3)}: id (a number of 5,000 digits) is not a whole "
        "number from 1 to 2,147,483,647"
    ) in message.splitlines()


@pytest.mark.parametrize("pk", [2**31, 2**63 - 1, 2**63, 2**64, 0, -1])
def test_ids_beyond_the_bound_are_problems(exported, tmp_path, pk):
    # 2**63 and more were refused by the database mid-import; 2**63 - 1 imported, and the
    # sequence moved past it left no id for any new record.
    exported["metrics"][-1]["id"] = pk  # a record nothing refers to
    last = len(exported["metrics"]) - 1
    message = refused(tmp_path, exported)
    assert (
        f"{where(exported, 'metrics', last)}: id {pk} is not a whole number from 1 to 2,147,483,647"
    ) in message.splitlines()


def test_the_largest_id_imports_and_leaves_the_sequence_room(exported, tmp_path):
    exported["metrics"][-1]["id"] = 2**31 - 1
    path = tmp_path / "big.json"
    path.write_text(json.dumps(exported))
    import_(path)
    assert MetricFactory(initiative=Initiative.objects.first()).pk == 2**31


def test_nesting_too_deep_to_read_is_refused_with_where_it_is(exported, tmp_path):
    # json's decoder recurses: 100,000 levels raised RecursionError, a traceback.
    exported["initiatives"][2]["themes"] = "deep"
    text = json.dumps(exported).replace('"deep"', "[" * 100_000 + "]" * 100_000, 1)
    message = refused(tmp_path, text=text)
    assert "is not a catalogue export: invalid JSON: nested too deeply to read (line 1, " in (
        message
    )
    assert message.endswith(", while reading initiatives[2].")


@pytest.mark.parametrize(
    ("section", "name", "value", "message"),
    [
        # int(inf) raised OverflowError, a traceback.
        ("initiatives", "start_year", float("inf"), "start_year Infinity is not a whole number"),
        ("initiatives", "start_year", float("nan"), "start_year NaN is not a whole number"),
        # int() cut it to 2020, silently.
        ("initiatives", "start_year", 2020.7, "start_year 2020.7 is not a whole number"),
        ("initiatives", "end_year", True, "end_year True is not a whole number"),
        # parse_date(20240101) raised TypeError, a traceback.
        (
            "sources",
            "published_on",
            20240101,
            'published_on 20240101 is not a date written as text, e.g. "2024-02-29"',
        ),
        (
            "initiatives",
            "updated_at",
            1700000000,
            "updated_at 1700000000 is not a date and time written as text, e.g. "
            '"2024-02-29T12:00:00+00:00"',
        ),
        ("initiatives", "title", 42, "title 42 is not text"),
        # Model validation skips an empty value where blank is allowed; the insert raised.
        (
            "sources",
            "published_on",
            "",
            "published_on: “” value has an invalid date format. It must be in YYYY-MM-DD format.",
        ),
        ("organisations", "unnamed", 1, "unnamed 1 is not true or false"),
        (
            "metrics",
            "value",
            float("-inf"),
            'value -Infinity is not a decimal number written as text, e.g. "12.50"',
        ),
    ],
)
def test_a_value_of_the_wrong_json_type_is_a_problem(
    exported, tmp_path, section, name, value, message
):
    exported[section][0][name] = value
    problems = refused(tmp_path, exported).splitlines()
    assert f"{where(exported, section, 0)}: {message}" in problems


def test_text_longer_than_the_admin_allows_is_a_problem(exported, tmp_path):
    # A TextField's max_length is checked by its form only: 10 MB summaries were imported.
    limit = Initiative._meta.get_field("summary").max_length
    exported["initiatives"][0]["summary"] = "x" * 10_000_000
    exported["initiatives"][1]["summary"] = "x" * (limit + 1)
    exported["initiatives"][2]["summary"] = "x" * limit
    problems = refused(tmp_path, exported).splitlines()
    assert problems[1:] == [
        f"{where(exported, 'initiatives', 0)}: summary: Ensure this value has at most {limit} "
        "characters (it has 10000000).",
        f"{where(exported, 'initiatives', 1)}: summary: Ensure this value has at most {limit} "
        f"characters (it has {limit + 1}).",
    ]


def test_references_to_another_records_sources_and_quotes_are_problems(exported, tmp_path):
    # The admin offers a record's own sources and quotes only; the file's were not checked.
    metric, quote = exported["metrics"][0], exported["quotes"][0]
    initiative = metric["initiative"]
    others = [s for s in exported["sources"] if s["initiative"] != initiative]
    quote["source"] = others[1]["id"]
    metric["source"] = others[0]["id"]
    other_quote = next(q for q in exported["quotes"] if q["initiative"] != initiative)
    metric["quote"] = other_quote["id"]
    problems = refused(tmp_path, exported).splitlines()
    assert problems[1:] == [
        f"quotes[0] (id {quote['id']}): source {others[1]['id']} has initiative "
        f"{others[1]['initiative']}, not {quote['initiative']} as this quote has",
        f"metrics[0] (id {metric['id']}): source {others[0]['id']} has initiative "
        f"{others[0]['initiative']}, not {initiative} as this metric has",
        f"metrics[0] (id {metric['id']}): quote {other_quote['id']} has initiative "
        f"{other_quote['initiative']}, not {initiative} as this metric has",
        f"metrics[0] (id {metric['id']}): quote {other_quote['id']} has source "
        f"{other_quote['source']}, not {others[0]['id']} as this metric has",
    ]


def test_a_metrics_quote_must_be_from_the_source_it_cites(exported, tmp_path):
    metric = exported["metrics"][0]
    second = dict(exported["sources"][0], id=999, initiative=metric["initiative"])
    exported["sources"].append(second)
    metric["source"] = 999
    quoted = next(q["source"] for q in exported["quotes"] if q["id"] == metric["quote"])
    problems = refused(tmp_path, exported).splitlines()
    assert problems[1:] == [
        f"metrics[0] (id {metric['id']}): quote {metric['quote']} has source {quoted}, not 999 "
        "as this metric has",
    ]


def test_text_no_database_can_store_is_a_problem(exported, tmp_path):
    # PostgreSQL refused the NUL mid-import; half a surrogate pair (JSON can escape one) was
    # a UnicodeEncodeError traceback on either database.
    exported["initiatives"][0]["title"] = "Null\x00"
    exported["initiatives"][1]["summary"] = "ab\ud800"
    exported["initiatives"][2]["created_by"] = "alice\x00"
    problems = refused(tmp_path, exported).splitlines()
    assert problems[1:] == [
        f"{where(exported, 'initiatives', 0)}: title: Null characters are not allowed.",
        f"{where(exported, 'initiatives', 1)}: summary: '\\ud800' at character 3 is half a "
        "surrogate pair, not a character",
        f"{where(exported, 'initiatives', 2)}: created_by 'alice\\x00' is not a username",
    ]


def test_a_key_given_twice_in_a_record_is_a_problem(exported, tmp_path):
    # json keeps the last, silently.
    exported["initiatives"][0]["title"] = "Second"
    text = json.dumps(exported).replace('"title": "Second"', '"title": "First", "title": "Second"')
    problems = refused(tmp_path, text=text).splitlines()
    assert problems[1:] == [f"{where(exported, 'initiatives', 0)}: 'title' is given more than once"]


# ---- any input: a message or a whole import, never a traceback or a partial one ------------

# Every kind of text (NUL, half surrogate pairs, other scripts), numbers beyond any column, and
# values nested a few levels.
TEXT = st.text(st.characters(exclude_categories=()), max_size=20)
EDGES = st.sampled_from(
    [
        *(0, -1, 2**31, 2**63 - 1, 2**63, 20240101, 2020.5, float("inf"), True),
        *("", "\x00", "\ud800", "x" * 700),
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
    | EDGES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=6,
)
ANY_INPUT = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def imported_whole_or_refused(path, records):
    """Import the file, in a savepoint rolled back after: a CommandError with nothing
    written, or every record written."""
    before = snapshot()
    with transaction.atomic():
        try:
            import_(path)
        except CommandError as error:
            assert str(error)
            assert snapshot() == before
        else:
            assert Initiative.objects.count() == records
        transaction.set_rollback(True)


def fields_by_kind():
    """{kind of field: [(section name, field name)]}, "id" and "unknown" included: drawn kind
    first, so that the few integer and date fields are spoilt as often as the many text ones."""
    kinds = defaultdict(list)
    for section in transfer.SECTIONS:
        for f in [*section.fields, *section.many_to_many]:
            kinds[type(f).__name__].append((section.name, f.name))
        kinds["id"].append((section.name, "id"))
        kinds["unknown"].append((section.name, "unknown"))
    return kinds


@ANY_INPUT
@given(data=st.data())
def test_any_value_anywhere_is_imported_whole_or_refused(exported, tmp_path, data):
    spoilt = json.loads(json.dumps(exported))
    kinds = fields_by_kind()
    for _ in range(data.draw(st.integers(1, 2))):
        kind = data.draw(st.sampled_from(sorted(kinds)))
        section, name = data.draw(st.sampled_from([p for p in kinds[kind] if spoilt[p[0]]]))
        record = data.draw(st.sampled_from(spoilt[section]))
        if data.draw(st.integers(0, 9)) == 0:
            record.pop(name, None)
        else:
            record[name] = data.draw(EDGES | JSON_VALUES)
    path = tmp_path / "any.json"
    path.write_text(json.dumps(spoilt))
    imported_whole_or_refused(path, len(spoilt["initiatives"]))


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
