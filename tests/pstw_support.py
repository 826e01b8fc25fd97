"""What the import_pstw tests (tests/test_import_pstw_*.py) share: the sample file, the
attribution every record carries, running the command, and reading what it made."""

import csv
import re
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from catalogue.management.commands import import_pstw
from catalogue.models import Initiative

SAMPLE = Path(__file__).parent / "data" / "pstw_sample.csv"
ATTRIBUTION = "EU Public Sector Tech Watch, case {} (CC BY 4.0)"
DOI = "https://doi.org/10.2905/JRC.J1MWC9R"
JRC = "European Commission, Joint Research Centre"
CITED = "via EU Public Sector Tech Watch"
SUMMARY_LINE = re.compile(
    r"^Imported (?P<name>\S+): (?P<created>[\d,]+) created, (?P<updated>[\d,]+) updated, "
    r"(?P<unchanged>[\d,]+) unchanged, (?P<rejected>[\d,]+) rejected \((?P<rows>[\d,]+) rows\) "
    r"in \d+\.\d s(; [\d,]+ published)?\.$"
)


def run(path=SAMPLE, *args, **options):
    """Run the command; (its result, what it printed)."""
    command = import_pstw.Command()
    out = StringIO()
    call_command(command, str(path), *args, stdout=out, **options)
    return command.result, out.getvalue()


def counts(result):
    return result.created, result.updated, result.unchanged, len(result.rejected)


def sample_rows():
    with open(SAMPLE, encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def edited_sample(tmp_path, pstw_id, **changes):
    """A copy of the sample with some columns of one row changed."""
    header, *rows = sample_rows()
    columns = {name.strip(): index for index, name in enumerate(header)}
    for row in rows:
        if row[0] == pstw_id:
            for name, value in changes.items():
                row[columns[name]] = value
    path = tmp_path / "edited.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([header, *rows])
    return path


def record(pstw_id):
    return Initiative.objects.get(pstw_id=pstw_id)


def slugs(manager):
    return sorted(manager.values_list("slug", flat=True))


def sources(initiative):
    return sorted(
        (s.title, s.url, s.publisher, s.published_on and s.published_on.isoformat())
        for s in initiative.sources.all()
    )
