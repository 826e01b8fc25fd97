"""The reference vocabularies (drivers, themes, outcomes, barriers, sectors, places) arrive
with the migrations, so a production database set up with `migrate` alone can be tagged and
imported into. Only terms that are missing are created: a term a Publisher renamed or
described differently is left as it is. The seed records are not part of this (they are
`seed_catalogue`'s).
"""

import json
from pathlib import Path

from django.core.management.color import no_style
from django.db import migrations

VOCABULARIES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "taxonomies.json"


def identity(model_name, fields):
    if model_name == "place":
        return {"country": fields["country"], "region": fields.get("region", "")}
    return {"slug": fields["slug"]}


def load_reference_vocabularies(apps, schema_editor):
    rows = json.loads(VOCABULARIES.read_text(encoding="utf-8"))
    touched = set()
    for row in rows:
        model_name = row["model"].split(".", 1)[1]
        model = apps.get_model("catalogue", model_name)
        fields = row["fields"]
        manager = model._base_manager.using(schema_editor.connection.alias)
        if manager.filter(**identity(model_name, fields)).exists():
            continue  # present already, perhaps edited: never overwritten
        # The fixture's id where it is free, so the seed catalogue's references hold.
        pk = row.get("pk") if not manager.filter(pk=row.get("pk")).exists() else None
        manager.create(pk=pk, **fields)
        touched.add(model)
    if touched:
        # Rows created with their ids leave PostgreSQL's sequences behind: bring them on.
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), sorted(touched, key=str)):
                cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0009_history_entries_and_proposals")]

    operations = [
        # Going back keeps the terms: records may use them.
        migrations.RunPython(load_reference_vocabularies, migrations.RunPython.noop),
    ]
