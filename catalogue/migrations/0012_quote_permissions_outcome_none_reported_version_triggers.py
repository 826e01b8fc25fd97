"""Editors and Publishers may add, change and delete quotes, as the other rows of a record
(0005); without it the admin would not show them the Quotes section.

The outcome "None reported", for records kept for their lessons (a project that stalled or
failed), added to a database migrated before it existed, as 0010 adds every missing term.

And on PostgreSQL, the catalogue version (0003) now also moves on writes to sources, quotes
and metrics: the home page's "M with measured results" is cached under it.
"""

import importlib

from django.contrib.auth.management import create_permissions
from django.db import migrations

QUOTE_PERMISSIONS = [f"{action}_quote" for action in ("view", "add", "change", "delete")]


def grant_quote_permissions(apps, schema_editor):
    # Permissions are normally created after all migrations have run; make sure they exist.
    app_config = apps.get_app_config("catalogue")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(
            content_type__app_label="catalogue", codename__in=QUOTE_PERMISSIONS
        )
    )
    for group in Group.objects.filter(name__in=["Editors", "Publishers"]):
        group.permissions.add(*permissions)


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
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalogue", "0011_quotes_unnamed_organisations_stage_not_stated"),
    ]

    operations = [
        migrations.RunPython(grant_quote_permissions, migrations.RunPython.noop),
        migrations.RunPython(load_reference_vocabularies, migrations.RunPython.noop),
        migrations.RunPython(add_version_triggers, drop_version_triggers),
    ]
