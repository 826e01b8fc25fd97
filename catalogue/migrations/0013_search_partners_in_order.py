"""The search document lists a record's partners in a fixed order (by partnership id).

string_agg without ORDER BY took the partners in whatever order the join produced, so the
same record's search vector (its word positions) could differ between two databases holding
the same rows, as after an import. PostgreSQL only, as the search vector is.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION catalogue_initiative_document(
    p_id bigint, p_title text, p_summary text, p_narrative text, p_lead bigint
) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('english', coalesce(p_title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(p_summary, '')), 'B')
        || setweight(to_tsvector('english', concat_ws(' ',
               p_narrative,
               (SELECT name FROM catalogue_organisation WHERE id = p_lead),
               (SELECT string_agg(o.name, ' ' ORDER BY p.id)
                  FROM catalogue_partnership p
                  JOIN catalogue_organisation o ON o.id = p.organisation_id
                 WHERE p.initiative_id = p_id))), 'C')
$$;
"""

BACKWARD = FORWARD.replace(" ORDER BY p.id", "")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0012_quote_permissions_outcome_none_reported_version_triggers"),
    ]

    operations = [migrations.RunPython(forward, backward)]
