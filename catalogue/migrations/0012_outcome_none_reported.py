"""The outcome "None reported", for records kept for their lessons (a project that stalled or
failed): added to a database migrated before it existed, as 0010 adds every missing term."""

import importlib

from django.db import migrations


def load_reference_vocabularies(apps, schema_editor):
    vocabularies = importlib.import_module("catalogue.migrations.0010_reference_vocabularies")
    vocabularies.load_reference_vocabularies(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0011_quotes_unnamed_organisations_stage_not_stated")]

    operations = [migrations.RunPython(load_reference_vocabularies, migrations.RunPython.noop)]
