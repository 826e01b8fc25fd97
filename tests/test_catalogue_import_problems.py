"""import_catalogue reports every bad record of an export (ids, nesting, JSON types,
lengths, references, repeated keys) and writes nothing; any value anywhere is imported
whole or refused."""

import json
from collections import defaultdict

import pytest
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from catalogue import transfer
from catalogue.models import (
    Initiative,
)
from tests.factories import (
    MetricFactory,
)
from tests.readers import export, import_, snapshot
from tests.transfer_support import (
    ANY_INPUT,
    EDGES,
    JSON_VALUES,
    empty_catalogue,
    import_error,
    where,
)

pytestmark = pytest.mark.django_db


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
