"""Restore a file written by export_catalogue into an empty catalogue, all or nothing.

What is checked, what "empty" means and how the file is inserted is described, and done, in
catalogue/importing/restore/: this command reads its arguments, runs the Restorer and
reports what it did.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from catalogue.importing.restore import Restorer
from catalogue.importing.restore.values import and_join
from catalogue.progress import Progress
from catalogue.transfer import count_phrase


class Command(BaseCommand):
    help = (
        "Restore a file written by export_catalogue (or - for stdin) into an empty catalogue, "
        "all or nothing: every record is checked first and every problem reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="The file to read, or - for standard input.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="Records inserted per statement (default 1000).",
        )

    def handle(self, *args, source, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        started = time.monotonic()
        with Progress(self.stderr, options["verbosity"], started) as progress:
            restorer = Restorer(batch_size=batch_size, progress=progress)
            counts = restorer.run(source)

        elapsed = time.monotonic() - started
        where = "standard input" if source == "-" else source
        summary = f"Imported {count_phrase(counts)} from {where} in {elapsed:.1f} s."
        if restorer.present:
            present = sorted(restorer.present.items())
            kept = and_join(f"{len(ids):,} {name}" for name, ids in present)
            summary += f" (Already present and kept: {kept}.)"
        unlinked = restorer.unlinked
        if unlinked:
            names = ", ".join(sorted(unlinked))
            self.stderr.write(
                self.style.WARNING(
                    f"{unlinked.total():,} created_by/updated_by links left empty: no user "
                    f"named {names}."
                )
            )
            summary += f" {unlinked.total():,} user links left empty."
        self.stdout.write(self.style.SUCCESS(summary))
