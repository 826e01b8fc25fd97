from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from catalogue.models import Initiative, Theme

FIXTURES_DIR = settings.BASE_DIR / "fixtures"


class Command(BaseCommand):
    help = (
        "Load the taxonomies and the hand-written seed catalogue, each only into empty tables. "
        "Safe to run again: what a database already holds is left as it is, so nothing an "
        "editor changed is overwritten."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load even into a non-empty catalogue: seed records are reset to the fixtures "
            "(matched by primary key); other records are untouched.",
        )

    @transaction.atomic
    def handle(self, *args, force=False, **options):
        loaded = []
        for fixture, present in (
            ("taxonomies.json", Theme.objects.exists()),
            ("catalogue.json", Initiative.objects.exists()),
        ):
            if present and not force:
                self.stdout.write(f"Skipping {fixture}: its records are already present.")
                continue
            self.stdout.write(f"Loading {fixture}...")
            call_command("loaddata", FIXTURES_DIR / fixture, verbosity=options["verbosity"])
            loaded.append(fixture)
        if "catalogue.json" in loaded:
            # Start each seed record's history, so it can be restored or recovered.
            call_command(
                "createinitialrevisions",
                "catalogue.Initiative",
                comment="Loaded from the seed catalogue",
                verbosity=0,
            )
        published = Initiative.objects.published().count()
        if loaded:
            summary = f"Seed catalogue loaded ({', '.join(loaded)})"
        else:
            summary = "Seed catalogue already present; nothing loaded (--force reloads it)"
        self.stdout.write(self.style.SUCCESS(f"{summary}: {published} published initiatives."))
