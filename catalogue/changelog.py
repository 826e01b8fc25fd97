"""What changed between two catalogue versions: the change log PostgreSQL's triggers write
(migration 0015).

Each transaction that writes to the catalogue gets one version, at commit, recorded with its
transaction id in catalogue_versioncommit; its statements log the initiatives they touched
in catalogue_change under the same transaction id. So the initiatives changed between
versions v1 and v2 are those logged by the transactions whose versions are in (v1, v2],
read in the same snapshot as the data (the caller's transaction).
"""

EVERYTHING = None  # "anything may have changed": rebuild from the tables


def changes_between(cursor, since, until):
    """The ids of the initiatives the versions in (since, until] changed (a set), or
    EVERYTHING when one of them may have changed anything or the log does not reach back to
    `since` (pruned, or older than the log)."""
    if until < since:
        return EVERYTHING
    if until == since:
        return set()
    cursor.execute(
        "SELECT count(*) FROM catalogue_versioncommit WHERE version > %s AND version <= %s",
        [since, until],
    )
    if cursor.fetchone()[0] != until - since:
        return EVERYTHING  # a version not in the log: pruned, or before the log began
    cursor.execute(
        """
        SELECT DISTINCT c.initiative_id FROM catalogue_change c
        WHERE c.xid IN (
            SELECT xid FROM catalogue_versioncommit WHERE version > %s AND version <= %s
        )
        """,
        [since, until],
    )
    ids = {row[0] for row in cursor.fetchall()}
    if None in ids:
        return EVERYTHING
    return ids
