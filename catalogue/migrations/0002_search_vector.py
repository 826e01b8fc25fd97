"""The weighted search vector and the triggers that keep it current (PostgreSQL only).

A generated column sees only its own row, but the vector also carries the lead and partner
organisations' names, so triggers maintain it instead: on the initiative row itself, after
any statement that changes partnerships (statement-level, so bulk inserts refresh each
initiative once), and after an organisation is renamed. On SQLite the column stays empty and
search falls back to matching text (catalogue/search.py).
"""

import django.contrib.postgres.search
from django.db import migrations

FORWARD = """
CREATE FUNCTION catalogue_initiative_document(
    p_id bigint, p_title text, p_summary text, p_narrative text, p_lead bigint
) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('english', coalesce(p_title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(p_summary, '')), 'B')
        || setweight(to_tsvector('english', concat_ws(' ',
               p_narrative,
               (SELECT name FROM catalogue_organisation WHERE id = p_lead),
               (SELECT string_agg(o.name, ' ')
                  FROM catalogue_partnership p
                  JOIN catalogue_organisation o ON o.id = p.organisation_id
                 WHERE p.initiative_id = p_id))), 'C')
$$;

CREATE FUNCTION catalogue_initiative_search_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := catalogue_initiative_document(
        NEW.id, NEW.title, NEW.summary, concat_ws(' ', NEW.challenge, NEW.approach, NEW.results, NEW.lessons), NEW.lead_organisation_id);
    RETURN NEW;
END $$;

CREATE TRIGGER catalogue_initiative_search
    BEFORE INSERT OR UPDATE OF title, summary, challenge, approach, results, lessons,
        lead_organisation_id, search_vector
    ON catalogue_initiative FOR EACH ROW EXECUTE FUNCTION catalogue_initiative_search_row();

-- Touching search_vector fires the row trigger above, which recomputes it.
CREATE FUNCTION catalogue_refresh_search(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    UPDATE catalogue_initiative SET search_vector = NULL WHERE id = ANY(ids)
$$;

CREATE FUNCTION catalogue_partnership_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM catalogue_refresh_search(ARRAY(SELECT DISTINCT initiative_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM catalogue_refresh_search(ARRAY(SELECT DISTINCT initiative_id FROM old_rows));
    ELSE
        PERFORM catalogue_refresh_search(ARRAY(
            SELECT initiative_id FROM new_rows UNION SELECT initiative_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER catalogue_partnership_search_insert
    AFTER INSERT ON catalogue_partnership REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_partnership_search();
CREATE TRIGGER catalogue_partnership_search_update
    AFTER UPDATE ON catalogue_partnership REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_partnership_search();
CREATE TRIGGER catalogue_partnership_search_delete
    AFTER DELETE ON catalogue_partnership REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_partnership_search();

CREATE FUNCTION catalogue_organisation_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM catalogue_refresh_search(ARRAY(
        SELECT id FROM catalogue_initiative WHERE lead_organisation_id = NEW.id
        UNION
        SELECT initiative_id FROM catalogue_partnership WHERE organisation_id = NEW.id));
    RETURN NULL;
END $$;

CREATE TRIGGER catalogue_organisation_search
    AFTER UPDATE OF name ON catalogue_organisation FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION catalogue_organisation_search();

CREATE INDEX initiative_search_vector_idx ON catalogue_initiative USING gin (search_vector);

UPDATE catalogue_initiative SET search_vector = NULL;
"""

BACKWARD = """
DROP INDEX IF EXISTS initiative_search_vector_idx;
DROP TRIGGER IF EXISTS catalogue_organisation_search ON catalogue_organisation;
DROP TRIGGER IF EXISTS catalogue_partnership_search_insert ON catalogue_partnership;
DROP TRIGGER IF EXISTS catalogue_partnership_search_update ON catalogue_partnership;
DROP TRIGGER IF EXISTS catalogue_partnership_search_delete ON catalogue_partnership;
DROP TRIGGER IF EXISTS catalogue_initiative_search ON catalogue_initiative;
DROP FUNCTION IF EXISTS catalogue_organisation_search();
DROP FUNCTION IF EXISTS catalogue_partnership_search();
DROP FUNCTION IF EXISTS catalogue_refresh_search(bigint[]);
DROP FUNCTION IF EXISTS catalogue_initiative_search_row();
DROP FUNCTION IF EXISTS catalogue_initiative_document(bigint, text, text, text, bigint);
"""


def on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="initiative",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(on_postgres(FORWARD), on_postgres(BACKWARD), elidable=False),
    ]
