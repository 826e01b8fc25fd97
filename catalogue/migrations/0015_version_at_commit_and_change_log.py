"""The catalogue version moves at commit, and the database logs which initiatives each
committed version changed (PostgreSQL only).

Before, every write's statement trigger (0003, 0012) updated the one version row, which then
stayed locked until the writer committed: a second editor's save waited for the whole of the
first writer's transaction. Now the statement trigger only notes, once per transaction, that
the transaction wrote (a row in catalogue_versioncommit, keyed by the transaction's id), and
a DEFERRABLE INITIALLY DEFERRED constraint trigger on that row does the one UPDATE of the
version row at commit. The row is locked from then to the commit's end only, so versions are
given in commit order, and a reader never sees a version before the writes it names (they
commit together). TRUNCATE (restores, test flushes) still moves the version at once.

The change log: statement-level triggers with transition tables on the initiatives and every
table the facet index reads per initiative (the vocabularies' link tables, places,
partnerships, metrics) insert the ids a statement touched into catalogue_change, with the
transaction's id; the commit row ties that id to the version the transaction committed as.
So "what changed between versions v1 and v2" is the changes of the transactions whose
versions are in (v1, v2], whatever order they were begun or logged in. A NULL id means
"anything may have changed": logged by TRUNCATE, by a change of an organisation's kind or a
place's country (many initiatives' facets at once), and instead of the ids once a
transaction has logged more than LOG_LIMIT of them (a bulk import: one row, not a million).

Tests run inside transactions that never commit: with the setting
catalogue.version_each_statement on (tests/conftest.py sets it on its connections), each
statement moves the version at once, as before this migration.

Old rows are pruned at commit, now and then: the log keeps the last KEEP versions.
"""

from django.db import migrations

LOG_LIMIT = 10_000
KEEP = 1000

# {table: the column naming the initiative}
LOGGED = {
    "catalogue_initiative": "id",
    "catalogue_initiative_themes": "initiative_id",
    "catalogue_initiative_drivers": "initiative_id",
    "catalogue_initiative_outcomes": "initiative_id",
    "catalogue_initiative_barriers": "initiative_id",
    "catalogue_initiative_places": "initiative_id",
    "catalogue_partnership": "initiative_id",
    "catalogue_metric": "initiative_id",
}

FORWARD = f"""
CREATE TABLE catalogue_versioncommit (
    xid bigint NOT NULL,
    version bigint,
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX catalogue_versioncommit_xid ON catalogue_versioncommit (xid);
CREATE UNIQUE INDEX catalogue_versioncommit_version ON catalogue_versioncommit (version);

CREATE TABLE catalogue_change (
    xid bigint NOT NULL,
    initiative_id bigint
);
CREATE INDEX catalogue_change_xid ON catalogue_change (xid);

-- Forget versions up to `floor`: their commit rows, and the changes of transactions with no
-- later version. Rows another transaction is pruning are left to it.
CREATE FUNCTION catalogue_prune_changes(floor bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM catalogue_change WHERE ctid = ANY(ARRAY(
        SELECT c.ctid FROM catalogue_change c
        JOIN catalogue_versioncommit k ON k.xid = c.xid AND k.version <= floor
        WHERE NOT EXISTS (
            SELECT 1 FROM catalogue_versioncommit later
            WHERE later.xid = c.xid AND (later.version > floor OR later.version IS NULL))
        FOR UPDATE OF c SKIP LOCKED));
    DELETE FROM catalogue_versioncommit WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM catalogue_versioncommit WHERE version <= floor
        FOR UPDATE SKIP LOCKED));
END $$;

-- The next version, now, for this transaction.
CREATE FUNCTION catalogue_next_version() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    assigned bigint;
BEGIN
    UPDATE catalogue_catalogueversion SET number = number + 1 WHERE id = 1
        RETURNING number INTO assigned;
    RETURN assigned;
END $$;

-- At commit (deferred): the transaction's one version.
CREATE FUNCTION catalogue_version_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    assigned bigint;
BEGIN
    -- Now and then, before the version row is locked, forget old versions.
    IF random() < 0.01 THEN
        PERFORM catalogue_prune_changes(
            (SELECT number FROM catalogue_catalogueversion WHERE id = 1) - {KEEP});
    END IF;
    assigned := catalogue_next_version();
    UPDATE catalogue_versioncommit SET version = assigned, committed_at = clock_timestamp()
        WHERE xid = NEW.xid AND version IS NULL;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER catalogue_versioncommit_at_commit
    AFTER INSERT ON catalogue_versioncommit DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.version IS NULL) EXECUTE FUNCTION catalogue_version_at_commit();

-- Every write to the catalogue's tables (the triggers of 0003 and 0012).
CREATE OR REPLACE FUNCTION catalogue_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' OR current_setting('catalogue.version_each_statement', true) = 'on'
    THEN
        IF TG_OP = 'TRUNCATE' THEN
            INSERT INTO catalogue_change (xid, initiative_id) VALUES (txid_current(), NULL);
        END IF;
        INSERT INTO catalogue_versioncommit (xid, version)
            VALUES (txid_current(), catalogue_next_version());
    ELSIF current_setting('catalogue.version_pending', true) IS DISTINCT FROM 'on' THEN
        -- Transaction-local: undone with the row if a savepoint is rolled back.
        PERFORM set_config('catalogue.version_pending', 'on', true);
        INSERT INTO catalogue_versioncommit (xid) VALUES (txid_current());
    END IF;
    RETURN NULL;
END $$;

-- The initiatives a statement touched (TG_ARGV[0]: the column naming them), or once the
-- transaction has logged {LOG_LIMIT}, one "anything may have changed".
CREATE FUNCTION catalogue_log_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    logged bigint := coalesce(nullif(current_setting('catalogue.changes_logged', true), ''), '0');
    touched bigint;
    touched_sql text;
BEGIN
    IF logged < 0 THEN
        RETURN NULL;  -- this transaction has logged "anything" already
    END IF;
    -- An initiative's id does not change: its UPDATE trigger keeps the new rows only.
    touched_sql := CASE
        WHEN TG_OP = 'DELETE' THEN format('SELECT %I AS id FROM old_rows', TG_ARGV[0])
        WHEN TG_OP = 'INSERT' OR TG_ARGV[0] = 'id'
            THEN format('SELECT %I AS id FROM new_rows', TG_ARGV[0])
        ELSE format('SELECT %1$I AS id FROM new_rows UNION ALL SELECT %1$I FROM old_rows',
                    TG_ARGV[0])
    END;
    -- Counted no further than the limit.
    EXECUTE format('SELECT count(*) FROM (%s LIMIT %s) touched', touched_sql, {LOG_LIMIT} + 1)
        INTO touched;
    IF touched = 0 THEN
        RETURN NULL;
    END IF;
    IF logged + touched > {LOG_LIMIT} THEN
        INSERT INTO catalogue_change (xid, initiative_id) VALUES (txid_current(), NULL);
        PERFORM set_config('catalogue.changes_logged', '-1', true);
    ELSE
        EXECUTE format(
            'INSERT INTO catalogue_change (xid, initiative_id) '
            'SELECT DISTINCT txid_current(), id FROM (%s) touched WHERE id IS NOT NULL', touched_sql);
        PERFORM set_config('catalogue.changes_logged', (logged + touched)::text, true);
    END IF;
    RETURN NULL;
END $$;

-- Writes that change many initiatives' facets at once.
CREATE FUNCTION catalogue_log_everything() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.{{column}} IS DISTINCT FROM o.{{column}}
    ) THEN
        INSERT INTO catalogue_change (xid, initiative_id) VALUES (txid_current(), NULL);
    END IF;
    RETURN NULL;
END $$;
"""

EVERYTHING = {"catalogue_organisation": "kind", "catalogue_place": "country"}


def forward_sql():
    template = FORWARD.split("-- Writes that change many")
    sql = template[0]
    body = "-- Writes that change many" + template[1]
    for table, column in EVERYTHING.items():
        function = f"catalogue_log_{table.removeprefix('catalogue_')}_everything"
        sql += body.replace("catalogue_log_everything", function).replace("{column}", column)
        sql += (
            f"CREATE TRIGGER {table}_log AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n"
        )
    for table, column in LOGGED.items():
        for event, referencing in (
            ("INSERT", "NEW TABLE AS new_rows"),
            (
                "UPDATE",
                "NEW TABLE AS new_rows"
                if column == "id"
                else "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            ),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            sql += (
                f"CREATE TRIGGER {table}_log_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION catalogue_log_changes('{column}');\n"
            )
    return sql


BACKWARD = (
    "".join(
        f"DROP TRIGGER IF EXISTS {table}_log_{event} ON {table};"
        for table in LOGGED
        for event in ("insert", "update", "delete")
    )
    + "".join(f"DROP TRIGGER IF EXISTS {table}_log ON {table};" for table in EVERYTHING)
    + "".join(
        f"DROP FUNCTION IF EXISTS catalogue_log_{table.removeprefix('catalogue_')}_everything();"
        for table in EVERYTHING
    )
    + """
DROP FUNCTION IF EXISTS catalogue_log_changes();
CREATE OR REPLACE FUNCTION catalogue_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalogue_catalogueversion SET number = number + 1 WHERE id = 1;
    RETURN NULL;
END $$;
DROP TABLE IF EXISTS catalogue_versioncommit;
DROP TABLE IF EXISTS catalogue_change;
DROP FUNCTION IF EXISTS catalogue_version_at_commit();
DROP FUNCTION IF EXISTS catalogue_next_version();
DROP FUNCTION IF EXISTS catalogue_prune_changes(bigint);
"""
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(forward_sql())


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0014_proposals_of_organisations")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
