"""Synthetic published initiatives in bulk, to benchmark the list, facets and search at scale.

The records, and the word lists and weights they are drawn from, are catalogue/synthetic/:
this command reads its arguments, runs the Generator and reports what it made.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from catalogue.progress import Progress
from catalogue.synthetic.generate import Generator


class Command(BaseCommand):
    help = (
        "Add COUNT synthetic published initiatives with organisations, tags, partnerships, "
        "sources and metrics, for benchmarking. Deterministic for a given --seed; running it "
        "again adds COUNT more."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="Initiatives to create.")
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default 0).")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=2000,
            help="Initiatives per transaction (default 2000).",
        )

    def handle(self, *args, count, seed, batch_size, **options):
        if count < 1 or batch_size < 1:
            raise CommandError("--count and --batch-size must be at least 1.")
        started = time.monotonic()
        verbosity = options["verbosity"]

        with Progress(self.stderr, verbosity, started, unit="initiatives") as progress:
            generator = Generator(seed, say=self.stdout.write)
            organisations, totals = generator.run(
                count,
                batch_size,
                lambda done, total: progress.tick("creating initiatives", done, total),
            )
        if verbosity >= 1:
            # The last of the progress lines this wrote on stdout before they went to stderr
            # (tests/test_seed_synthetic.py asserts it): how many, in how long.
            elapsed = time.monotonic() - started
            self.stdout.write(f"  {count:,} / {count:,} initiatives ({elapsed:.1f} s)")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {count:,} published initiatives, {organisations:,} organisations, "
                f"{totals['partnerships']:,} partnerships, {totals['sources']:,} sources, "
                f"{totals['quotes']:,} quotes, "
                f"{totals['metrics']:,} metrics and {totals['links']:,} tag and place links "
                f"in {time.monotonic() - started:.1f} s."
            )
        )
