"""Facet options and disjunctive facet counts for the initiative list.

Each option of each facet shows how many results it would give with all the *other* active
filters applied (so ticking a second theme widens, never empties, the theme facet). The
counts and the total come from one SQL statement (catalogue/counts.py).

Counts are cached on PostgreSQL, keyed by the catalogue version (see CatalogueVersion).
"""

import functools
from html import escape
from typing import NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db.models import Q
from django.utils import translation
from django.utils.safestring import mark_safe
from django_countries import countries

from catalogue import caching, facet_index
from catalogue.counts import COVERAGE_SQL, FACET_SQL, TOTAL, Count, grouped, leaves_out
from catalogue.filters import InitiativeFilter
from catalogue.models import Initiative, Organisation
from catalogue.vocabularies import BY_PARAM, PARAMS, terms

# Facets with more options than this show the top ones and put the rest behind "show all".
TOP_OPTIONS = 8
# The key of the coverage figures among the counts.
COVERAGE = "recorded"

# Organisations: each initiative counts once for each organisation that led it or took part.
# Only the biggest ORGANISATION_OPTIONS come back, and those chosen or found by the facet's
# own search (the CTE `wanted`): a catalogue has far too many organisations to list them all.
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
    SELECT k::text AS k, n FROM (
    SELECT * FROM ({ORGANISATION_COUNT} ORDER BY n DESC, k LIMIT {ORGANISATION_OPTIONS}) AS top
    UNION ALL
    SELECT * FROM ({ORGANISATION_COUNT}) AS asked WHERE k IN (SELECT id FROM wanted)) AS o"""
# The facets of the panel, in its order; each is the filter of the same name.
FACETS = (
    *PARAMS,
    "stage",
    "country",
    "kind",
    "evidence",
    "innovation_type",
    "measured",
    "organisation",
)
# Counted for the panel, shown as a range, not as checkboxes.
RANGES = {"start_year"}
MEASURED = [("yes", "With measured results"), ("no", "No measured results")]
FIGURES = {
    "total": Count(TOTAL),
    **{name: Count(sql, leaves_out(name)) for name, sql in FACET_SQL.items()},
    **{f"covered_{name}": Count(sql) for name, sql in COVERAGE_SQL.items()},
    "organisation": Count(ORGANISATION_SQL, ("organisation",)),
}


def label(name):
    """A facet's label: its filter's ("Theme", "Type of lead organisation")."""
    return InitiativeFilter.base_filters[name].label


def count(filterset):
    """(total, {facet: {key: count}}) for an InitiativeFilter; counts[COVERAGE] is
    {facet: how many of the total record it at all}.

    On PostgreSQL the result is cached under the catalogue version, which database triggers
    change on any write that could change a count, so a cached count is never stale.
    """
    if not hasattr(filterset, "_counts"):  # once per filterset, even with no cache
        key = caching.query_key(filterset, "facets", filterset.organisation_search)
        filterset._counts = caching.cached(key, lambda: _count(filterset))
    return filterset._counts


def _count(filterset):
    index = facet_index.current(filterset.request)
    if index is not None:
        return _count_in(index, filterset)
    try:
        wanted_sql, wanted_params = wanted_organisations(filterset).query.sql_with_params()
    except EmptyResultSet:  # none chosen, no search
        wanted_sql, wanted_params = "SELECT CAST(NULL AS integer) WHERE 1 = 0", ()
    found = grouped(filterset, FIGURES, [("wanted", wanted_sql, wanted_params)])
    result = {name: {} for name in [*FACET_SQL, "organisation", COVERAGE]}
    for name, by_key in found.items():
        if name.startswith("covered_"):
            result[COVERAGE].update(by_key)
        elif name != "total":
            result[name] = {key: n for key, n in by_key.items() if key is not None}
    return found["total"].get("", 0), result


def _count_in(index, filterset):
    """What _count gives, from the process's facet index (catalogue/facet_index.py)."""
    wanted = list(wanted_organisations(filterset).values_list("pk", flat=True))
    total, by_facet, recorded, organisations = index.count(
        filterset, wanted, FACET_SQL, leaves_out, COVERAGE_SQL, ORGANISATION_OPTIONS
    )
    return total, {**by_facet, "organisation": organisations, COVERAGE: recorded}


def wanted_organisations(filterset):
    """Ids of the organisations chosen and, when the facet's search is used, the first
    ORGANISATION_OPTIONS public ones whose names contain it."""
    chosen = Q(slug__in=filterset.asked_organisations)
    if text := filterset.organisation_search:
        found = Organisation.objects.public().filter(name__icontains=text).order_by("name")
        chosen |= Q(pk__in=found.values("pk")[:ORGANISATION_OPTIONS])
    return Organisation.objects.filter(chosen).values("pk")


# Each organisation's (slug, name) by id, kept in the process for the catalogue version.
_organisation_names = caching.VersionMemo()


def forget_organisation_names():
    """Drop the names kept in this process (for tests that roll the version back)."""
    _organisation_names.clear()


def _read_organisation_names(ids):
    rows = Organisation.objects.filter(pk__in=ids).values_list("pk", "slug", "name")
    return {pk: (slug, name) for pk, slug, name in rows}


def organisation_options(request, counts, selected, search):
    """The organisation facet: chosen ones first, then the biggest, or those the search
    found (their names read once per catalogue version, in one query)."""
    by_id = {int(key): n for key, n in counts.items()}
    names = _organisation_names.get_many(request, by_id, _read_organisation_names)
    rows = [(slug, name, by_id[pk]) for pk, (slug, name) in names.items()]
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


def start_year_items(start_years):
    """The list items of the start years' counts, as escaped HTML (built here, as the
    checkboxes are: a catalogue spans many years)."""
    return mark_safe(
        "".join(
            f'<li>{year:d} <span class="app-facet__count">({n:d}<span class="govuk-visually-'
            f'hidden"> result{"" if n == 1 else "s"}</span>)</span></li>'
            for year, n in start_years
        )
    )


class Option(NamedTuple):
    value: str
    label: str
    count: int
    checked: bool

    def checkbox(self, facet):
        """The option as the panel shows it: a GOV.UK small checkbox with its count, as
        escaped HTML. Built here rather than in the template: a panel has hundreds, and the
        template language took most of the panel's time drawing them."""
        field = escape(f"{facet}-{self.value}")
        empty = "" if self.count else " app-facet__option--empty"
        checked = " checked" if self.checked else ""
        return (
            f'<div class="govuk-checkboxes__item{empty}">'
            f'<input class="govuk-checkboxes__input" id="{field}" name="{escape(facet)}" '
            f'type="checkbox" value="{escape(str(self.value))}"{checked}>'
            f'<label class="govuk-label govuk-checkboxes__label" for="{field}">'
            f'{escape(str(self.label))} <span class="app-facet__count">({self.count:d}'
            f'<span class="govuk-visually-hidden"> result{"" if self.count == 1 else "s"}'
            "</span>)</span></label></div>"
        )


def facet_html(facet):
    """One facet of the panel as escaped HTML: its errors, the organisation search, its
    checkboxes (the first few, the rest behind "show all") and the organisation roles.
    Built here, not in the template, for the reason Option.checkbox gives."""
    name, label_text = escape(facet["name"]), escape(str(facet["label"]))
    errors = facet["errors"]
    parts = [
        f'<div class="govuk-form-group app-facet{" govuk-form-group--error" if errors else ""}"'
        f' id="facet-{name}" tabindex="-1">'
    ]
    if errors:
        shown = "<br>".join(
            f'<span class="govuk-visually-hidden">Error:</span> {escape(str(error))}'
            for error in errors
        )
        parts.append(f'<p class="govuk-error-message" id="{name}-error">{shown}</p>')
    if facet["name"] == "organisation":
        search = escape(facet["search"] or "")
        parts.append(
            '<div class="app-facet-search">'
            '<label class="govuk-label govuk-label--s" for="find_organisation">Find an '
            "organisation</label>"
            '<div class="govuk-hint" id="find_organisation-hint">Part of its name, then choose '
            "it below</div>"
            '<input class="govuk-input app-facet-search__input" id="find_organisation" '
            f'name="find_organisation" type="search" value="{search}" maxlength="100" '
            'aria-describedby="find_organisation-hint">'
            '<button type="submit" class="govuk-button govuk-button--secondary '
            'app-facet-search__button" data-module="govuk-button">Find<span '
            'class="govuk-visually-hidden"> organisations</span></button></div>'
        )
        if not facet["options"]:
            where = f" with “{search}” in its name" if search else ""
            parts.append(
                f'<p class="govuk-body">No organisation{where} has case studies here.</p></div>'
            )
            return mark_safe("".join(parts))
    described = f' aria-describedby="{name}-error"' if errors else ""
    selected = (
        f' <span class="govuk-visually-hidden">({facet["selected"]:d} selected)</span>'
        if facet["selected"]
        else ""
    )
    parts.append(
        f'<fieldset class="govuk-fieldset"{described}>'
        f'<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">{label_text}{selected}'
        "</legend>"
    )
    if "recorded" in facet:  # not for organisations: every case study has one
        parts.append(
            f'<p class="govuk-body-s app-facet__coverage">{label_text}: recorded for '
            f"{facet['recorded']:,d} of {facet['of']:,d}</p>"
        )
    parts.append(
        '<div class="govuk-checkboxes govuk-checkboxes--small" data-module="govuk-checkboxes">'
        f"{facet['first']}</div>"
    )
    if facet["rest"]:
        parts.append(
            '<details class="govuk-details govuk-!-margin-bottom-0">'
            '<summary class="govuk-details__summary"><span class="govuk-details__summary-text">'
            f'Show all {len(facet["options"]):d} options<span class="govuk-visually-hidden"> '
            f"for {escape(str(facet['label']).lower())}</span></span></summary>"
            '<div class="govuk-details__text"><div class="govuk-checkboxes '
            f'govuk-checkboxes--small" data-module="govuk-checkboxes">{facet["rest"]}</div>'
            "</div></details>"
        )
    parts.append("</fieldset>")
    if facet.get("roles"):
        roles = "".join(
            '<div class="govuk-checkboxes__item"><input class="govuk-checkboxes__input" '
            f'id="role-{escape(option.value)}" name="role" type="checkbox" '
            f'value="{escape(option.value)}"{" checked" if option.checked else ""}>'
            '<label class="govuk-label govuk-checkboxes__label" '
            f'for="role-{escape(option.value)}">{escape(str(option.label))}</label></div>'
            for option in facet["roles"]
        )
        parts.append(
            '<fieldset class="govuk-fieldset govuk-!-margin-top-3" aria-describedby="role-hint">'
            '<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">Organisation'
            "'s role</legend>"
            '<div class="govuk-hint" id="role-hint">Leave all unticked for any role</div>'
            '<div class="govuk-checkboxes govuk-checkboxes--small" '
            f'data-module="govuk-checkboxes">{roles}</div></fieldset>'
        )
    parts.append("</div>")
    return mark_safe("".join(parts))


def checkboxes(facet, options):
    """The options' checkboxes, one after another (each escaped by Option.checkbox)."""
    return mark_safe("".join(option.checkbox(facet) for option in options))


def country_name(code):
    """The country's name (the code where it is not one), in the active language."""
    return _country_name(translation.get_language(), code)


@functools.lru_cache(maxsize=2048)
def _country_name(language, code):
    # django-countries translates every name on each call; a panel lists dozens.
    return countries.name(code) or code


def options(name, counts, selected):
    """The options of one facet, selected ones always kept."""
    if name in BY_PARAM:
        items = [(t.slug, t.name, counts.get(str(t.id), 0)) for t in terms(name).values()]
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
            ((code, country_name(code), counts.get(code, 0)) for code in codes),
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
    for name in FACETS:
        if name in RANGES:
            continue
        panel.append(_facet(filterset, counts, total, name))
        panel[-1]["html"] = facet_html(panel[-1])
    return panel


def _facet(filterset, counts, total, name):
    """One facet of the panel, as facets() lists them."""
    selected = set(filterset.data.getlist(name))
    if name == "organisation":
        search = filterset.organisation_search
        found = organisation_options(filterset.request, counts[name], selected, search)
        return {
            "name": name,
            "label": label(name),
            "options": found,
            "top": len(found),
            "first": checkboxes(name, found),
            "rest": "",
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
    all_options = options(name, counts[name], selected)
    top = len(all_options)
    if len(all_options) > TOP_OPTIONS + 2:
        first = sorted(all_options, key=lambda o: (not o.checked, -o.count, o.label))
        first = first[:TOP_OPTIONS]
        all_options = first + [o for o in all_options if o not in first]
        top = TOP_OPTIONS
    return {
        "name": name,
        "label": label(name),
        "options": all_options,
        "top": top,
        "first": checkboxes(name, all_options[:top]),
        "rest": checkboxes(name, all_options[top:]),
        "selected": len(selected),
        "recorded": counts[COVERAGE].get(name, 0),
        "of": total,
        "errors": filterset.field_problems.get(name, []),
    }


def coverage(total, counts):
    """{facet: {"label", "recorded", "of"}}: how many of the results record each facet."""
    return {
        name: {"label": label(name), "recorded": counts[COVERAGE].get(name, 0), "of": total}
        for name in FACETS
    }
