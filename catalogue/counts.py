"""Counting the initiatives of a filter query by facet, in one SQL statement.

The list's filter panel and /insights/ both show, for each facet, how many results each of
its values would give with every *other* filter in use applied. `grouped` builds that: one
materialised id set per distinct combination of left-out filters (shared by every count that
leaves out the same ones), and each count a GROUP BY over the narrow link tables joined to
its id set, all in one UNION ALL. The SQL of each count is a template with `{ids}` for the
name of its id set, and gives (k, n) rows.
"""

from typing import NamedTuple

from django.db import connection, connections, router

from catalogue.models import Initiative
from catalogue.vocabularies import VOCABULARIES


class Count(NamedTuple):
    """One figure to count: its SQL (k, n rows over the id set `{ids}`) and the filters it
    leaves out (its own, so its options can replace them)."""

    sql: str
    leaves_out: tuple = ()


TOTAL = "SELECT '' AS k, COUNT(*) AS n FROM {ids}"
_LINK_COUNT = """
    SELECT l.{col}::text AS k, COUNT(*) AS n
      FROM {table} l JOIN {{ids}} s ON s.id = l.initiative_id
     GROUP BY l.{col}"""
_COLUMN_COUNT = """
    SELECT i.{col}::text AS k, COUNT(*) AS n
      FROM catalogue_initiative i JOIN {{ids}} s ON s.id = i.id
     GROUP BY i.{col}"""


def _by_term(vocabulary):
    if vocabulary.many:
        return _LINK_COUNT.format(col=vocabulary.column, table=vocabulary.link_table)
    return _COLUMN_COUNT.format(col=vocabulary.column)


# How to count each facet over a set of initiative ids, keyed by facet (= filter) name.
FACET_SQL = {
    **{vocabulary.param: _by_term(vocabulary) for vocabulary in VOCABULARIES},
    "stage": _COLUMN_COUNT.format(col="stage"),
    "kind": """
    SELECT o.kind AS k, COUNT(*) AS n
      FROM catalogue_initiative i JOIN {ids} s ON s.id = i.id
      JOIN catalogue_organisation o ON o.id = i.lead_organisation_id
     GROUP BY o.kind""",
    "evidence": _COLUMN_COUNT.format(col="evidence_level"),
    "innovation_type": _COLUMN_COUNT.format(col="innovation_type"),
    "measured": """
    SELECT CASE WHEN EXISTS (SELECT 1 FROM catalogue_metric m WHERE m.initiative_id = s.id)
                THEN 'yes' ELSE 'no' END AS k, COUNT(*) AS n
      FROM {ids} s
     GROUP BY 1""",
    # Initiatives with no start year come back under a null key.
    "start_year": _COLUMN_COUNT.format(col="start_year"),
    # An initiative may name several places in one country: count it once.
    "country": """
    SELECT p.country AS k, COUNT(DISTINCT l.initiative_id) AS n
      FROM catalogue_initiative_places l JOIN {ids} s ON s.id = l.initiative_id
      JOIN catalogue_place p ON p.id = l.place_id
     GROUP BY p.country""",
}
# The filters a facet's counts leave out (its own, by default): the start-year counts are
# for the years outside the chosen range too.
LEAVES_OUT = {"start_year": ("year_from", "year_to")}


def leaves_out(name):
    return LEAVES_OUT.get(name, (name,))


# How many of a set of initiatives record each facet at all: absence is "not recorded",
# not zero (most imported records have no barrier). One (k = facet, n) row each.
_LINK_COVERED = """SELECT '{name}' AS k, (SELECT COUNT(DISTINCT l.initiative_id)
      FROM {table} l JOIN {{ids}} s ON s.id = l.initiative_id) AS n"""
_COLUMN_COVERED = """SELECT '{name}' AS k, (SELECT COUNT(*)
      FROM catalogue_initiative i JOIN {{ids}} s ON s.id = i.id WHERE {where}) AS n"""
_PLACES = Initiative.places.through._meta.db_table
COVERAGE_SQL = {
    **{
        v.param: _LINK_COVERED.format(name=v.param, table=v.link_table)
        if v.many
        else _COLUMN_COVERED.format(name=v.param, where=f"i.{v.column} IS NOT NULL")
        for v in VOCABULARIES
    },
    "country": _LINK_COVERED.format(name="country", table=_PLACES),
    "stage": _COLUMN_COVERED.format(name="stage", where="i.stage <> ''"),
    "kind": """SELECT 'kind' AS k, (SELECT COUNT(*)
      FROM catalogue_initiative i JOIN {ids} s ON s.id = i.id
      JOIN catalogue_organisation o ON o.id = i.lead_organisation_id WHERE o.kind <> 'other')
      AS n""",
}


def grouped(filterset, figures, extra_ctes=()):
    """{figure name: {key: n}} for an InitiativeFilter, in one statement.

    `figures` maps names to Count(sql, leaves_out); `extra_ctes` are (name, sql, params)
    the figures' SQL may join (the organisation facet's chosen and found organisations).
    Keys are text, or None for a null (an initiative with no start year).
    """
    active = filterset.active_facets()
    materialised = " MATERIALIZED" if connection.vendor == "postgresql" else ""
    ctes, params, parts, aliases = [], [], [], {}
    for name, (template, own) in figures.items():
        # Figures whose left-out filters are not in use share one id set.
        skip = tuple(param for param in own if param in active)
        if skip not in aliases:
            aliases[skip] = f"ids{len(aliases)}"
            queryset = filterset.queryset_without(*skip).values("pk")
            sql, sql_params = queryset.query.sql_with_params()
            ctes.append(f"{aliases[skip]}(id) AS{materialised} ({sql})")
            params.extend(sql_params)
        counted = template.format(ids=aliases[skip])
        parts.append(f"SELECT '{name}' AS f, k, n FROM ({counted}) AS c_{name}")
    for name, sql, sql_params in extra_ctes:
        ctes.append(f"{name}(id) AS ({sql})")
        params.extend(sql_params)
    sql = f"WITH {', '.join(ctes)} " + " UNION ALL ".join(parts)
    if connection.vendor == "sqlite":
        sql = sql.replace("::text", "")
    found = {name: {} for name in figures}
    # Raw SQL is not routed: ask the router where the filter's reads go (a replica, for a
    # public request: catalogue/routing.py).
    database = router.db_for_read(filterset.queryset.model)
    with connections[database].cursor() as cursor:
        cursor.execute(sql, params)
        for name, key, n in cursor.fetchall():
            found[name][None if key is None else str(key)] = n
    return found
