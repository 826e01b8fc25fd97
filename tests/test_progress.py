"""The long commands show how far they have got on stderr (catalogue/progress.py): a tqdm bar
when stderr is a terminal, plain periodic lines when it is not; their summary stays the last
line on stdout."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from catalogue import progress
from catalogue.models import Initiative
from catalogue.transfer import SECTIONS

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).parent / "data" / "pstw_sample.csv"
PLAIN_LINE = re.compile(r"^  [a-z ]+: [\d,]+(/[\d,]+)? \([\d,]+/s(, about \d+ (s|min) left)?\)$")


class Terminal(StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True


@pytest.fixture
def every_tick(monkeypatch):
    """A plain line for every tick, however short the run."""
    monkeypatch.setattr(progress.Progress, "INTERVAL", 0)


def run(name, *args, stderr=None, **options):
    """(stdout, stderr) of a command."""
    out, err = StringIO(), stderr or StringIO()
    call_command(name, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def progress_lines(err, what):
    lines = [line for line in err.splitlines() if line.startswith(f"  {what}: ")]
    assert lines, err
    assert all(PLAIN_LINE.match(line) for line in lines), lines
    return lines


def empty_records():
    """The catalogue's records gone, its reference data kept: what import_catalogue restores
    into."""
    for section in reversed(SECTIONS):
        if not section.reference:
            section.model._default_manager.all().delete()


def test_import_pstw_progress_on_stderr_summary_on_stdout(every_tick):
    out, err = run("import_pstw", str(SAMPLE), "--dry-run")
    assert progress_lines(err, "mapping rows")
    assert progress_lines(err, "importing rows")[-1].startswith("  importing rows: 12/12 (")
    assert "rows:" not in out
    assert out.strip().splitlines()[-1].startswith("Dry run of pstw_sample.csv: would create 8,")


def test_seed_synthetic_progress_on_stderr_summary_on_stdout(every_tick):
    out, err = run("seed_synthetic", count=30, batch_size=10)
    lines = progress_lines(err, "creating initiatives")
    assert [line.split(" (")[0] for line in lines] == [
        "  creating initiatives: 10/30",
        "  creating initiatives: 20/30",
        "  creating initiatives: 30/30",
    ]
    assert "initiatives:" not in out
    assert out.strip().splitlines()[-1].startswith("Created 30 published initiatives, ")


def test_export_and_import_catalogue_progress_on_stderr_summary_on_stdout(
    every_tick, seed_catalogue, tmp_path
):
    path = tmp_path / "out.json"
    out, err = run("export_catalogue", str(path))
    total = Initiative.objects.count()
    assert progress_lines(err, "initiatives")[-1].startswith(f"  initiatives: {total}/{total} (")
    assert re.fullmatch(r"Exported \d+ initiatives, .* in \d+\.\d s\.\n", out)

    empty_records()
    out, err = run("import_catalogue", str(path), batch_size=5)
    assert progress_lines(err, "checking initiatives")[-1].startswith(
        f"  checking initiatives: {total} ("
    )
    assert progress_lines(err, "importing initiatives")
    assert Initiative.objects.count() == total
    assert re.fullmatch(r"Imported \d+ initiatives, .* in \d+\.\d s\..*\n", out)
    assert "checking" not in out


def test_short_runs_write_no_progress_line():
    # INTERVAL seconds between lines, and none before the first INTERVAL of a phase.
    out, err = run("import_pstw", str(SAMPLE), "--dry-run")
    assert err == ""
    assert out.strip().splitlines()[-1].startswith("Dry run of pstw_sample.csv")


def test_verbosity_0_writes_no_progress(every_tick):
    _, err = run("seed_synthetic", count=10, verbosity=0)
    assert err == ""


def test_a_terminal_gets_a_tqdm_bar_with_rate_and_time_left():
    terminal = Terminal()
    out, err = run("import_pstw", str(SAMPLE), "--dry-run", stderr=terminal)
    # tqdm's bar: percentage, bar, count, [elapsed<left, rate], redrawn after carriage returns.
    assert "\r" in err
    assert re.search(
        r"importing rows: 100%\|[█#]+\| 12/12 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+ rows/s\]", err
    )
    assert not PLAIN_LINE.match(err.splitlines()[0])
    assert out.strip().splitlines()[-1].startswith("Dry run of pstw_sample.csv")


def test_plain_lines_give_the_rate_and_the_time_left(monkeypatch):
    clock = iter([0.0, 0.0, 10.0, 10.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    err = StringIO()
    shown = progress.Progress(err, verbosity=1)
    shown.tick("importing rows", 500, 2291)
    assert err.getvalue() == "  importing rows: 500/2,291 (50/s, about 36 s left)"
