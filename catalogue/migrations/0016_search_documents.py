"""Two narrow copies of each initiative's search data, for searches matching a large share of
the catalogue (PostgreSQL only; catalogue/search.py).

catalogue_initiative's rows are wide (the narrative is stored inline), so every query that
reads each matching row of a common word reads most of the table: at 1,000,000 initiatives a
word in 43% of them took seconds for its ids and ts_rank. Kept by triggers from the row itself:

- catalogue_search_match: (initiative_id, document), the weighted search_vector copied as it
  is, stored out of line (about 60 bytes a row in the table itself) with its own GIN index:
  the ids matching a query come from it in one bitmap scan of a small table.
- catalogue_search_rank: (initiative_id, published_at, title, summary), the title's and the
  summary's own tsvectors (short, stored inline) with GIN indexes and an index in the list's
  default order, so the best matches (title, then summary, newest first) are found by walking
  that order instead of scoring every match.

Both hold every initiative, whatever its status: callers keep the published ones. An
initiative's rows go with it (a delete trigger; a TRUNCATE of initiatives empties both, as a
test database flush does). No foreign key, so Django's own flush, which truncates the tables it
knows, is not refused.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE catalogue_search_match (
    initiative_id bigint PRIMARY KEY,
    document tsvector NOT NULL
) WITH (toast_tuple_target = 128);
ALTER TABLE catalogue_search_match ALTER COLUMN document SET STORAGE EXTERNAL;

CREATE TABLE catalogue_search_rank (
    initiative_id bigint PRIMARY KEY,
    published_at timestamptz,
    title tsvector NOT NULL,
    summary tsvector NOT NULL
);

CREATE FUNCTION catalogue_search_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalogue_search_match (initiative_id, document)
    VALUES (NEW.id, coalesce(NEW.search_vector, ''::tsvector))
    ON CONFLICT (initiative_id) DO UPDATE SET document = EXCLUDED.document;
    INSERT INTO catalogue_search_rank (initiative_id, published_at, title, summary)
    VALUES (NEW.id, NEW.published_at, to_tsvector('english', coalesce(NEW.title, '')),
            to_tsvector('english', coalesce(NEW.summary, '')))
    ON CONFLICT (initiative_id) DO UPDATE SET published_at = EXCLUDED.published_at,
        title = EXCLUDED.title, summary = EXCLUDED.summary;
    RETURN NULL;
END $$;

CREATE FUNCTION catalogue_search_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE catalogue_search_match, catalogue_search_rank;
    ELSE
        DELETE FROM catalogue_search_match WHERE initiative_id = OLD.id;
        DELETE FROM catalogue_search_rank WHERE initiative_id = OLD.id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER catalogue_search_copy_insert
    AFTER INSERT ON catalogue_initiative FOR EACH ROW
    EXECUTE FUNCTION catalogue_search_copy();
CREATE TRIGGER catalogue_search_copy_update
    AFTER UPDATE ON catalogue_initiative FOR EACH ROW
    WHEN (OLD.search_vector IS DISTINCT FROM NEW.search_vector
          OR OLD.title IS DISTINCT FROM NEW.title
          OR OLD.summary IS DISTINCT FROM NEW.summary
          OR OLD.published_at IS DISTINCT FROM NEW.published_at)
    EXECUTE FUNCTION catalogue_search_copy();
CREATE TRIGGER catalogue_search_forget_delete
    AFTER DELETE ON catalogue_initiative FOR EACH ROW
    EXECUTE FUNCTION catalogue_search_forget();
CREATE TRIGGER catalogue_search_forget_truncate
    AFTER TRUNCATE ON catalogue_initiative FOR EACH STATEMENT
    EXECUTE FUNCTION catalogue_search_forget();

INSERT INTO catalogue_search_match (initiative_id, document)
SELECT id, coalesce(search_vector, ''::tsvector) FROM catalogue_initiative;
INSERT INTO catalogue_search_rank (initiative_id, published_at, title, summary)
SELECT id, published_at, to_tsvector('english', coalesce(title, '')),
       to_tsvector('english', coalesce(summary, ''))
  FROM catalogue_initiative;

CREATE INDEX catalogue_search_match_document_idx ON catalogue_search_match USING gin (document);
CREATE INDEX catalogue_search_rank_title_idx ON catalogue_search_rank USING gin (title);
CREATE INDEX catalogue_search_rank_summary_idx ON catalogue_search_rank USING gin (summary);
CREATE INDEX catalogue_search_rank_order_idx
    ON catalogue_search_rank (published_at DESC, initiative_id);
ANALYZE catalogue_search_match;
ANALYZE catalogue_search_rank;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS catalogue_search_copy_insert ON catalogue_initiative;
DROP TRIGGER IF EXISTS catalogue_search_copy_update ON catalogue_initiative;
DROP TRIGGER IF EXISTS catalogue_search_forget_delete ON catalogue_initiative;
DROP TRIGGER IF EXISTS catalogue_search_forget_truncate ON catalogue_initiative;
DROP FUNCTION IF EXISTS catalogue_search_copy();
DROP FUNCTION IF EXISTS catalogue_search_forget();
DROP TABLE IF EXISTS catalogue_search_match;
DROP TABLE IF EXISTS catalogue_search_rank;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0015_version_at_commit_and_change_log"),
    ]

    operations = [migrations.RunPython(forward, backward)]
