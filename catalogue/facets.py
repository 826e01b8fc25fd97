"""Facet options and disjunctive facet counts for the initiative list.

Each option of each facet shows how many results it would give with all the *other* active
filters applied (so ticking a second theme widens, never empties, the theme facet). The
counts and the total come from one SQL statement: one materialised id set per distinct
combination of filters, grouped per facet from the narrow link tables.

Counts are cached on PostgreSQL, keyed by the catalogue version (see CatalogueVersion).
Taxonomy terms (slug, name, id) are read by many parts of every page: once per request, and
on PostgreSQL through the cache under the catalogue version too, which the database's
triggers change on any write to a vocabulary from any process (the admin, a shell,
import_pstw), so every worker sees a renamed or added term on its next request.
"""

from dataclasses import dataclass
from typing import NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, Value
from django.db.models.signals import post_delete, post_save
from django_countries import countries

from catalogue import caching
from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Organisation,
    Outcome,
    Sector,
    Theme,
)

TAXONOMIES = {
    "theme": Theme,
    "driver": Driver,
    "outcome": Outcome,
    "barrier": Barrier,
    "sector": Sector,
}
# Facets with more options than this show the top ones and put the rest behind "show all".
TOP_OPTIONS = 8


@dataclass(frozen=True)
class VocabularyTerm:
    """One term of a vocabulary (a theme, a driver...), as the filters and facets use it."""

    id: int
    slug: str
    name: str


def terms(model):
    """{slug: VocabularyTerm} for one taxonomy, ordered by name."""
    return vocabularies()[model._meta.model_name]


def vocabularies():
    """{model name: {slug: VocabularyTerm}} for every taxonomy, once per request (one query,
    or none when the catalogue version's cache has them)."""
    return caching.per_request(
        "vocabularies", lambda: caching.cached(caching.key(None, "terms"), _read_vocabularies)
    )


def _read_vocabularies():
    found = {model._meta.model_name: {} for model in TAXONOMIES.values()}
    rows = [
        model.objects.order_by()
        .annotate(kind=Value(model._meta.model_name))
        .values_list("kind", "pk", "slug", "name")
        for model in TAXONOMIES.values()
    ]
    for kind, pk, slug, name in rows[0].union(*rows[1:], all=True).order_by("kind", "name"):
        found[kind][slug] = VocabularyTerm(pk, slug, name)
    return found


def _forget_terms(sender, **kwargs):
    # This request's own change (the admin's next read in it sees the new term); other
    # requests and processes follow the catalogue version.
    caching.forget("version")
    caching.forget("vocabularies")


def connect_signals():
    """Forget this request's vocabularies when a term is saved or deleted (apps.py)."""
    for model in TAXONOMIES.values():
        post_save.connect(_forget_terms, sender=model, dispatch_uid=f"terms-{model.__name__}")
        post_delete.connect(_forget_terms, sender=model, dispatch_uid=f"terms-{model.__name__}-d")


# How to count each facet over a set of initiative ids (the CTE named by {ids}).
_LINK_COUNT = """
    SELECT l.{col}::text AS k, COUNT(*) AS n
      FROM {table} l JOIN {{ids}} s ON s.id = l.initiative_id
     GROUP BY l.{col}"""
_COLUMN_COUNT = """
    SELECT i.{col}::text AS k, COUNT(*) AS n
      FROM catalogue_initiative i JOIN {{ids}} s ON s.id = i.id
     GROUP BY i.{col}"""
COUNTS_SQL = {
    **{
        name: _LINK_COUNT.format(
            col=f"{name}_id",
            table=Initiative._meta.get_field(field).remote_field.through._meta.db_table,
        )
        for name, field in (
            ("theme", "themes"),
            ("driver", "drivers"),
            ("outcome", "outcomes"),
            ("barrier", "barriers"),
        )
    },
    "sector": _COLUMN_COUNT.format(col="sector_id"),
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
    "start_year": _COLUMN_COUNT.format(col="start_year"),
    # An initiative may name several places in one country: count it once.
    "country": """
    SELECT p.country AS k, COUNT(DISTINCT l.initiative_id) AS n
      FROM catalogue_initiative_places l JOIN {ids} s ON s.id = l.initiative_id
      JOIN catalogue_place p ON p.id = l.place_id
     GROUP BY p.country""",
}
# How many of a set of initiatives record each facet at all: absence is "not recorded",
# not zero (most imported records have no barrier).
_LINK_COVERED = (
    "SELECT COUNT(DISTINCT l.initiative_id) FROM {table} l JOIN {{ids}} s ON s.id = l.initiative_id"
)
_COLUMN_COVERED = (
    "SELECT COUNT(*) FROM catalogue_initiative i JOIN {{ids}} s ON s.id = i.id WHERE {where}"
)
COVERAGE_SQL = {
    **{
        name: _LINK_COVERED.format(
            table=Initiative._meta.get_field(field).remote_field.through._meta.db_table
        )
        for name, field in (
            ("theme", "themes"),
            ("driver", "drivers"),
            ("outcome", "outcomes"),
            ("barrier", "barriers"),
            ("country", "places"),
        )
    },
    "sector": _COLUMN_COVERED.format(where="i.sector_id IS NOT NULL"),
    "stage": _COLUMN_COVERED.format(where="i.stage <> ''"),
    "kind": """SELECT COUNT(*) FROM catalogue_initiative i JOIN {ids} s ON s.id = i.id
      JOIN catalogue_organisation o ON o.id = i.lead_organisation_id WHERE o.kind <> 'other'""",
}
# The key of the coverage figures among the counts.
COVERAGE = "recorded"

# Organisations: each initiative counts once for each organisation that led it or took part.
# Only the biggest ORGANISATION_OPTIONS come back, and those chosen or found by the facet's
# own search ({wanted}): a catalogue has far too many organisations to list them all.
ORGANISATION_OPTIONS = 50
ORGANISATION_COUNT = """
    SELECT k, COUNT(DISTINCT initiative) AS n FROM (
        SELECT i.lead_organisation_id AS k, i.id AS initiative
          FROM catalogue_initiative i JOIN {ids} s ON s.id = i.id
        UNION ALL
        SELECT p.organisation_id, p.initiative_id
          FROM catalogue_partnership p JOIN {ids} s ON s.id = p.initiative_id
    ) AS o
     GROUP BY k"""
ORGANISATION_SQL = f"""
    SELECT * FROM ({ORGANISATION_COUNT} ORDER BY n DESC, k LIMIT {ORGANISATION_OPTIONS}) AS top
    UNION ALL
    SELECT * FROM ({ORGANISATION_COUNT}) AS asked WHERE k IN (SELECT id FROM {{wanted}})"""
LABELS = {
    "theme": "Theme",
    "driver": "Driver",
    "outcome": "Outcome",
    "barrier": "Barrier",
    "sector": "Sector",
    "stage": "Stage",
    "country": "Country",
    "kind": "Type of lead organisation",
    "evidence": "Evidence level",
    "innovation_type": "Innovation type",
    "measured": "Measured results",
    "organisation": "Organisation",
}
# The filters a facet's counts leave out (its own, by default): the start-year counts are
# for the years outside the chosen range too.
FILTERS_OF = {"start_year": ("year_from", "year_to")}
# Shown in the panel as a range, not as checkboxes.
RANGES = {"start_year"}
MEASURED = [("yes", "With measured results"), ("no", "No measured results")]


def count(filterset):
    """(total, {facet: {key: count}}) for an InitiativeFilter; counts[COVERAGE] is
    {facet: how many of the total record it at all}.

    On PostgreSQL the result is cached under the catalogue version, which database triggers
    change on any write that could change a count, so a cached count is never stale.
    """
    key = caching.query_key(filterset, "facets", filterset.organisation_search)
    return caching.cached(key, lambda: _count(filterset))


def _count(filterset):
    active = filterset.active_facets()
    # One id set for all filters, plus one per active facet without its own filter.
    id_sets = {None: filterset.queryset_without()}
    for name in [*COUNTS_SQL, "organisation"]:
        skipped = FILTERS_OF.get(name, (name,))
        if active.intersection(skipped):
            id_sets[name] = filterset.queryset_without(*skipped)
    materialised = " MATERIALIZED" if connection.vendor == "postgresql" else ""
    ctes, params = [], []
    aliases = {}
    for index, (name, queryset) in enumerate(id_sets.items()):
        sql, sql_params = queryset.order_by().values("pk").query.sql_with_params()
        aliases[name] = f"ids{index}"
        ctes.append(f"ids{index}(id) AS{materialised} ({sql})")
        params.extend(sql_params)
    parts = ["SELECT 'total' AS f, '' AS k, COUNT(*) AS n FROM ids0"]
    for name, template in COUNTS_SQL.items():
        ids = aliases[name] if name in aliases else aliases[None]
        parts.append(f"SELECT '{name}' AS f, k, n FROM ({template.format(ids=ids)}) AS c_{name}")
    for name, template in COVERAGE_SQL.items():
        covered = template.format(ids=aliases[None])
        parts.append(f"SELECT '{COVERAGE}' AS f, '{name}' AS k, ({covered}) AS n")
    try:
        wanted_sql, wanted_params = wanted_organisations(filterset).query.sql_with_params()
    except EmptyResultSet:  # none chosen, no search
        wanted_sql, wanted_params = "SELECT CAST(NULL AS integer) WHERE 1 = 0", ()
    ctes.append(f"wanted(id) AS ({wanted_sql})")
    params.extend(wanted_params)
    ids = aliases.get("organisation", aliases[None])
    parts.append(
        "SELECT 'organisation' AS f, k::text AS k, n FROM "
        f"({ORGANISATION_SQL.format(ids=ids, wanted='wanted')}) AS c_organisation"
    )
    sql = f"WITH {', '.join(ctes)} " + " UNION ALL ".join(parts)
    if connection.vendor == "sqlite":
        sql = sql.replace("::text", "")
    counts = {name: {} for name in [*COUNTS_SQL, "organisation", COVERAGE]}
    total = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for facet, key, n in cursor.fetchall():
            if facet == "total":
                total = n
            elif key is not None:
                counts[facet][str(key)] = n
    return total, counts


def wanted_organisations(filterset):
    """Ids of the organisations chosen and, when the facet's search is used, the first
    ORGANISATION_OPTIONS public ones whose names contain it."""
    chosen = Q(slug__in=filterset.asked_organisations)
    if text := filterset.organisation_search:
        found = Organisation.objects.public().filter(name__icontains=text).order_by("name")
        chosen |= Q(pk__in=found.values("pk")[:ORGANISATION_OPTIONS])
    return Organisation.objects.filter(chosen).values("pk")


def organisation_options(counts, selected, search):
    """The organisation facet: chosen ones first, then the biggest, or those the search
    found (one query for their names)."""
    by_id = {int(key): n for key, n in counts.items()}
    rows = Organisation.objects.filter(pk__in=by_id).values_list("pk", "slug", "name")
    rows = [(slug, name, by_id[pk]) for pk, slug, name in rows]
    if search:
        text = search.casefold()
        rows = [row for row in rows if text in row[1].casefold() or row[0] in selected]
    rows.sort(key=lambda row: (row[0] not in selected, -row[2], row[1]))
    if not search:
        rows = rows[: max(TOP_OPTIONS, len(selected))]
    return [Option(slug, name, n, slug in selected) for slug, name, n in rows]


def start_years(counts):
    """[(year, count)] of the results' start years, all filters but the year range applied,
    oldest first."""
    return sorted((int(year), n) for year, n in counts["start_year"].items() if year != "None")


class Option(NamedTuple):
    value: str
    label: str
    count: int
    checked: bool


def options(name, counts, selected):
    """The options of one facet, selected ones always kept."""
    if name in TAXONOMIES:
        items = [
            (t.slug, t.name, counts.get(str(t.id), 0)) for t in terms(TAXONOMIES[name]).values()
        ]
    elif name == "stage":
        items = [(v, label, counts.get(v, 0)) for v, label in Initiative.Stage.choices]
    elif name == "kind":
        items = [(v, label, counts.get(v, 0)) for v, label in Organisation.Kind.choices]
    elif name == "evidence":
        items = [
            (str(v), label, counts.get(str(v), 0)) for v, label in Initiative.EvidenceLevel.choices
        ]
    elif name == "innovation_type":
        items = [(v, label, counts.get(v, 0)) for v, label in Initiative.InnovationType.choices]
    elif name == "measured":
        items = [(v, label, counts.get(v, 0)) for v, label in MEASURED]
    else:  # country: only those with results, or chosen
        codes = set(counts) | set(selected)
        items = sorted(
            ((code, countries.name(code) or code, counts.get(code, 0)) for code in codes),
            key=lambda item: item[1],
        )
    return [Option(value, label, n, value in selected) for value, label, n in items]


def facets(filterset, counts, total):
    """Everything the filter panel shows, facet by facet.

    A long facet shows its chosen options and then its biggest, and puts the rest (in their
    usual order) behind "show all": `options` lists them in that order, `top` says how many
    come before the fold.
    """
    panel = []
    for name, label in LABELS.items():
        selected = set(filterset.data.getlist(name))
        if name == "organisation":
            search = filterset.organisation_search
            found = organisation_options(counts[name], selected, search)
            panel.append(
                {
                    "name": name,
                    "label": label,
                    "options": found,
                    "top": len(found),
                    "selected": len(selected),
                    "search": search,
                    "errors": filterset.field_problems.get(name, [])
                    + filterset.field_problems.get("role", []),
                    # Lead or partner unless narrowed: offered once an organisation is chosen.
                    "roles": [
                        Option(value, role, 0, value in filterset.data.getlist("role"))
                        for value, role in filterset.filters["role"].extra["choices"]
                    ]
                    if selected
                    else [],
                }
            )
            continue
        if name in RANGES:
            continue
        all_options = options(name, counts[name], selected)
        top = len(all_options)
        if len(all_options) > TOP_OPTIONS + 2:
            first = sorted(all_options, key=lambda o: (not o.checked, -o.count, o.label))
            first = first[:TOP_OPTIONS]
            all_options = first + [o for o in all_options if o not in first]
            top = TOP_OPTIONS
        panel.append(
            {
                "name": name,
                "label": label,
                "options": all_options,
                "top": top,
                "selected": len(selected),
                "recorded": counts[COVERAGE].get(name, 0),
                "of": total,
                "errors": filterset.field_problems.get(name, []),
            }
        )
    return panel


def coverage(total, counts):
    """{facet: {"label", "recorded", "of"}}: how many of the results record each facet."""
    return {
        name: {"label": label, "recorded": counts[COVERAGE].get(name, 0), "of": total}
        for name, label in LABELS.items()
    }
