-- Bulk writes, each rolled back: 100,000 initiatives updated, every theme link deleted.
-- psql -X -q -f bench/bulk_writes.sql postgres://.../NAME   (see docs/scaling.md)
\timing on
BEGIN; UPDATE catalogue_initiative SET start_year = start_year; ROLLBACK;
BEGIN; DELETE FROM catalogue_initiative_themes; ROLLBACK;
BEGIN; INSERT INTO catalogue_metric (initiative_id, label, value, unit, direction, baseline, period)
    SELECT id, 'bulk', 1, '', 'increase', '', '' FROM catalogue_initiative; ROLLBACK;
