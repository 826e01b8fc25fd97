"""The outcome "None reported", for records kept for their lessons (a project that stalled or
failed), added to a database migrated before it existed, as 0010 adds every missing term.

And on PostgreSQL, the catalogue version (0003) now also moves on writes to sources, quotes
and metrics: the home page's "M with measured results" is cached under it.
"""

import importlib

from django.db import migrations

TABLES = ["catalogue_source", "catalogue_quote", "catalogue_metric"]


def load_reference_vocabularies(apps, schema_editor):
    vocabularies = importlib.import_module("catalogue.migrations.0010_reference_vocabularies")
    vocabularies.load_reference_vocabularies(apps, schema_editor)


def add_version_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION catalogue_bump_version()"
        )


def drop_version_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0011_quotes_unnamed_organisations_stage_not_stated")]

    operations = [
        migrations.RunPython(load_reference_vocabularies, migrations.RunPython.noop),
        migrations.RunPython(add_version_triggers, drop_version_triggers),
    ]
