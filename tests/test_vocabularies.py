"""The reference vocabularies come with the migrations and never overwrite an edit."""

import importlib
import json

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from catalogue.models import Driver, Place, Sector, Theme

pytestmark = pytest.mark.django_db

migration = importlib.import_module("catalogue.migrations.0010_reference_vocabularies")
FIXTURE = json.loads((settings.BASE_DIR / "fixtures" / "taxonomies.json").read_text())


class Editor:
    connection = connection


def load_again():
    migration.load_reference_vocabularies(apps, Editor)


def test_a_migrated_database_holds_every_reference_term():
    for row in FIXTURE:
        model = apps.get_model(row["model"])
        if model is Place:
            assert Place.objects.filter(
                country=row["fields"]["country"], region=row["fields"].get("region", "")
            ).exists(), row
        else:
            term = model.objects.get(slug=row["fields"]["slug"])
            assert term.pk == row["pk"]  # the seed catalogue refers to terms by id


def test_loading_again_keeps_a_publishers_edits_and_adds_only_what_is_missing():
    cloud = Theme.objects.get(slug="cloud")
    cloud.name = "Cloud hosting"
    cloud.description = "Our own words."
    cloud.save()
    missing = Driver.objects.order_by("pk").first()
    missing_slug = missing.slug
    missing.delete()
    counts = {model: model.objects.count() for model in (Theme, Driver, Sector, Place)}

    load_again()

    cloud.refresh_from_db()
    assert (cloud.name, cloud.description) == ("Cloud hosting", "Our own words.")
    assert Driver.objects.filter(slug=missing_slug).count() == 1
    assert Driver.objects.count() == counts[Driver] + 1
    for model in (Theme, Sector, Place):
        assert model.objects.count() == counts[model]
    # New terms still get ids after the ones loaded with theirs (PostgreSQL's sequences).
    assert Theme.objects.create(name="Brand new", slug="brand-new").pk > max(
        row["pk"] for row in FIXTURE if row["model"] == "catalogue.theme"
    )


def test_a_term_whose_id_was_taken_still_arrives():
    first = Theme.objects.order_by("pk").first()
    slug = first.slug
    first.delete()
    Theme.objects.create(pk=first.pk, name="Taken id", slug="taken-id")
    load_again()
    assert Theme.objects.get(slug=slug).pk != first.pk
