"""Import the EU Public Sector Tech Watch case list (a CSV export) into the catalogue.

    python manage.py import_pstw pstw_dataset.csv [--dry-run] [--publish]

Dataset: European Commission, Joint Research Centre, Public Sector Tech Watch, doi
10.2905/JRC.J1MWC9R, licence CC BY 4.0. Every imported record cites it as a source.

The import itself, and how the rows become records, is catalogue/importing/pstw/: this
command reads its arguments, runs it in one transaction and reports what it did.
"""

import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from catalogue.importing.pstw import Importer, read_csv
from catalogue.importing.pstw.tables import DATASET
from catalogue.progress import Progress

# Up to this many warnings are listed one by one; more are counted by kind (-v 2 lists all).
LIST_WARNINGS_UP_TO = 20


class Command(BaseCommand):
    help = (
        f"Import the {DATASET} case list (CSV) as draft initiatives, matched on PSTW ID so "
        "a newer snapshot updates them. Rejected rows are listed with their line and reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The case list, e.g. pstw_dataset.csv.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Do everything, report it, then roll it all back.",
        )
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish new records, and existing drafts, that pass the publication check.",
        )

    def handle(self, *args, path, dry_run=False, publish=False, **options):
        self.verbosity = options["verbosity"]
        positions, rows = read_csv(path)
        if self.verbosity >= 1:
            self.stdout.write(f"Importing {path.name} ({len(rows):,} rows)...")
        started = time.monotonic()
        with (
            Progress(self.stderr, self.verbosity, started, unit="rows") as progress,
            transaction.atomic(),
        ):
            importer = Importer(publish=publish, progress=progress.tick)
            result = importer.run(positions, rows)
            if dry_run:
                transaction.set_rollback(True)
        result.seconds = time.monotonic() - started
        self.result = result
        self.report(result, path.name, dry_run, publish)

    def report(self, result, name, dry_run, publish):
        if result.new_terms and self.verbosity >= 1:
            self.stdout.write("New vocabulary terms: " + ", ".join(result.new_terms) + ".")
        if result.warnings and self.verbosity >= 1:
            self.stdout.write(self.style.WARNING(f"Warnings ({len(result.warnings):,}):"))
            if self.verbosity >= 2 or len(result.warnings) <= LIST_WARNINGS_UP_TO:
                for warning in result.warnings:
                    self.stdout.write(f"  {warning}")
            else:
                by_kind = Counter(warning.kind for warning in result.warnings)
                for kind, count in by_kind.most_common():
                    example = next(w for w in result.warnings if w.kind == kind)
                    self.stdout.write(f"  {kind}: {count:,} (e.g. {example})")
                self.stdout.write("  Run with -v 2 to list them all.")
        if result.rejected:
            self.stdout.write(self.style.ERROR(f"Rejected rows ({len(result.rejected):,}):"))
            for rejection in result.rejected:
                self.stdout.write(f"  {rejection}")
        if publish:
            would = "would be " if dry_run else ""
            self.stdout.write(
                f"{result.published:,} {would}published; "
                f"{result.drafts_not_published:,} left as drafts"
                + (":" if result.not_published else ".")
            )
            for problem, count in result.not_published.most_common():
                self.stdout.write(f"  {count:,}: {problem}")
        rows, took = f"({result.rows:,} rows)", f"in {result.seconds:.1f} s"
        if dry_run:
            published = f"; would publish {result.published:,}" if publish else ""
            line = (
                f"Dry run of {name}: would create {result.created:,}, update {result.updated:,}, "
                f"leave {result.unchanged:,} unchanged and reject {len(result.rejected):,} "
                f"{rows} {took}{published}; nothing was written."
            )
        else:
            published = f"; {result.published:,} published" if publish else ""
            line = (
                f"Imported {name}: {result.created:,} created, {result.updated:,} updated, "
                f"{result.unchanged:,} unchanged, {len(result.rejected):,} rejected "
                f"{rows} {took}{published}."
            )
        self.stdout.write(self.style.SUCCESS(line))
