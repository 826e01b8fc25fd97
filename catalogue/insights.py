"""/insights/: how many published case studies there are of each theme, driver, outcome,
sector, stage and start year, and of each driver together with each outcome.

Every figure links to the list that gives it, so it must be exactly that list's total. The
list combines the values of one filter with OR, so a figure for a filter already in use
cannot be "your filters plus this value" (that list is a union, which no bar shows). Each
chart therefore counts the way the list's filter panel does: with every filter in use except
its own, and its links put the figure's value in place of that filter's values. For filters
not in use that is the filtered set broken down; for one in use it compares what was chosen
(marked as chosen) with the alternatives.

All the counts come from one SQL statement (the id set of each combination of filters,
grouped on the narrow link tables: catalogue/counts.py), cached under the catalogue version.
"""

import csv
import math
from dataclasses import dataclass

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_safe

from catalogue import caching, facet_index
from catalogue.counts import FACET_SQL, TOTAL, Count, grouped
from catalogue.csv_cells import neutralise
from catalogue.facets import country_name
from catalogue.filters import InitiativeFilter
from catalogue.models import Initiative
from catalogue.vocabularies import BY_PARAM, terms

_DRIVERS = BY_PARAM["driver"].link_table
_OUTCOMES = BY_PARAM["outcome"].link_table
_THEMES = BY_PARAM["theme"].link_table
# Each figure: how to count it over a set of initiative ids (the CTE named by {ids}), as
# (key, n) rows, and the filters it leaves out (its own, so that its links can replace them).
FIGURES = {
    "total": Count(TOTAL),
    **{
        name: Count(FACET_SQL[name], (name,))
        for name in ("theme", "driver", "outcome", "sector", "stage")
    },
    # Initiatives with no start year come back under a null key.
    "year": Count(FACET_SQL["start_year"], ("year_from", "year_to")),
    # Each link table holds a pair once, so this counts initiatives, not rows.
    "cross": Count(
        f"""
    SELECT d.driver_id::text || ':' || o.outcome_id::text AS k, COUNT(*) AS n
      FROM {_DRIVERS} d JOIN {{ids}} s ON s.id = d.initiative_id
      JOIN {_OUTCOMES} o ON o.initiative_id = d.initiative_id
     GROUP BY d.driver_id, o.outcome_id""",
        ("driver", "outcome"),
    ),
    **{
        name: Count(FACET_SQL[name], (name,))
        for name in ("barrier", "country", "innovation_type", "evidence")
    },
    "theme_year": Count(
        f"""
    SELECT t.theme_id::text || ':' || i.start_year::text AS k, COUNT(*) AS n
      FROM {_THEMES} t JOIN {{ids}} s ON s.id = t.initiative_id
      JOIN catalogue_initiative i ON i.id = t.initiative_id
     WHERE i.start_year IS NOT NULL
     GROUP BY t.theme_id, i.start_year""",
        ("theme", "year_from", "year_to"),
    ),
}

CHARTS = [
    # (name, heading, what one bar is, the filter it leaves out in words)
    ("theme", "Themes", "Theme", "theme"),
    ("driver", "Drivers", "Driver", "driver"),
    ("outcome", "Outcomes", "Outcome", "outcome"),
    ("sector", "Sectors", "Sector", "sector"),
    ("stage", "Stages", "Stage", "stage"),
    ("year", "Start years", "Start year", "start year"),
    ("country", "Countries", "Country", "country"),
    ("barrier", "Barriers", "Barrier", "barrier"),
    ("innovation_type", "Innovation types", "Innovation type", "innovation type"),
    ("evidence", "Evidence levels", "Evidence level", "evidence level"),
]
# Shades of the driver-by-outcome cells: 1 to HEAT_LEVELS, darkest for the largest count.
HEAT_LEVELS = 4


def count(filterset):
    """Every figure of the page for an InitiativeFilter, keyed as in FIGURES.

    {"total": n, "theme": {term id: n}, ... "stage": {stage: n}, "year": {year: n},
    "no_year": n, "cross": {(driver id, outcome id): n}}. On PostgreSQL it is cached under
    the catalogue version, which changes on any write that could change a figure.
    """
    return caching.cached(caching.query_key(filterset, "insights"), lambda: _count(filterset))


def _count(filterset):
    index = facet_index.current(filterset.request)
    if index is not None:
        found = index.insights(filterset, {name: f.leaves_out for name, f in FIGURES.items()})
    else:
        found = grouped(filterset, FIGURES)
    figures = {
        "total": found["total"].get("", 0),
        "stage": {key: n for key, n in found["stage"].items() if key is not None},
        "year": {int(key): n for key, n in found["year"].items() if key is not None},
        "no_year": found["year"].get(None, 0),
        "cross": {
            tuple(int(part) for part in key.split(":")): n for key, n in found["cross"].items()
        },
    }
    for name in ("theme", "driver", "outcome", "sector", "barrier"):
        figures[name] = {int(key): n for key, n in found[name].items() if key is not None}
    for name in ("country", "innovation_type", "evidence"):
        figures[name] = {key: n for key, n in found[name].items() if key}
    figures["theme_year"] = {
        tuple(int(part) for part in key.split(":")): n for key, n in found["theme_year"].items()
    }
    return figures


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    url: str  # "" for a zero: there is no list worth linking to
    width: int  # 0 to 100: the share of the chart's longest bar
    chosen: bool


@dataclass(frozen=True)
class Cell:
    outcome: str
    count: int
    url: str
    level: int  # 0 for none, else 1 to HEAT_LEVELS


class Links:
    """URLs of the list: the filters in use (only the values that could be used) with one
    filter's values replaced by a figure's own."""

    def __init__(self, filterset):
        self.base = filterset.applied()
        self.path = reverse("initiative-list")

    def to(self, **replace):
        query = self.base.copy()
        for name, value in replace.items():
            query.setlist(name, [str(value)])
        return f"{self.path}?{query.urlencode()}" if query else self.path

    def query(self):
        """The filters in use as a query string (for the page's own links)."""
        return self.base.urlencode()


def _width(n, largest):
    """A bar's length as a share of the longest; never 0 for a count, so a small one shows."""
    if not n:
        return 0
    return max(1, round(n * 100 / largest))


def _cleaned(filterset):
    """The filter values in use, as the form cleaned them ({} when there are none)."""
    return filterset.form.cleaned_data if filterset.is_bound and filterset.is_valid() else {}


def _items(name, counts, cleaned):
    """[(label, count, {param: value}, chosen)] for one chart, in the order shown."""
    if name in BY_PARAM:
        picked = cleaned.get(name) or []
        items = [
            (t.name, counts[name].get(t.id, 0), {name: t.slug}, t.slug in picked)
            for t in terms(name).values()
        ]
        # Biggest first; a tie keeps the vocabulary's (alphabetical) order.
        return sorted(items, key=lambda item: -item[1])
    if name == "country":
        picked = cleaned.get("country") or []
        items = [
            (country_name(code), n, {"country": code}, code in picked)
            for code, n in counts["country"].items()
        ]
        return sorted(items, key=lambda item: (-item[1], item[0]))
    if name in ("innovation_type", "evidence"):
        choices = {
            "innovation_type": Initiative.InnovationType.choices,
            "evidence": [(str(v), label) for v, label in Initiative.EvidenceLevel.choices],
        }[name]
        picked = cleaned.get(name) or []
        return [
            (label, counts[name].get(value, 0), {name: value}, value in picked)
            for value, label in choices
        ]
    if name == "stage":
        # The stages' own order (idea to discontinued) says more than their sizes.
        picked = cleaned.get("stage") or []
        return [
            (label, counts["stage"].get(value, 0), {"stage": value}, value in picked)
            for value, label in Initiative.Stage.choices
        ]
    # Start years: every year from the first to the last, gaps shown as zeros.
    years = counts["year"]
    low, high = cleaned.get("year_from"), cleaned.get("year_to")
    in_range = low is not None or high is not None
    span = range(min(years), max(years) + 1) if years else range(0)
    return [
        (
            str(year),
            years.get(year, 0),
            {"year_from": year, "year_to": year},
            in_range and (low is None or year >= low) and (high is None or year <= high),
        )
        for year in span
    ]


def charts(filterset, counts, links):
    """The six bar charts; `in_use` says the chart leaves out a filter that is in use."""
    cleaned = _cleaned(filterset)
    active = filterset.active_facets()
    result = []
    for name, heading, column, in_words in CHARTS:
        items = _items(name, counts, cleaned)
        largest = max((n for _, n, _, _ in items), default=0)
        result.append(
            {
                "name": name,
                "slug": name.replace("_", "-"),
                "heading": heading,
                "column": column,
                "in_words": in_words,
                "in_use": any(param in active for param in FIGURES[name].leaves_out),
                "bars": [
                    Bar(label, n, links.to(**replace) if n else "", _width(n, largest), chosen)
                    for label, n, replace, chosen in items
                ],
                "empty": not largest,
                "no_year": counts["no_year"] if name == "year" else 0,
            }
        )
    return result


def cross_tab(filterset, counts, links):
    """Drivers as rows, outcomes as columns, each cell the list for that driver and outcome."""
    cleaned = _cleaned(filterset)
    drivers = list(terms("driver").values())
    outcomes = list(terms("outcome").values())
    cells = counts["cross"]
    largest = max(cells.values(), default=0)
    rows = []
    for driver in drivers:
        row = []
        for outcome in outcomes:
            n = cells.get((driver.id, outcome.id), 0)
            row.append(
                Cell(
                    outcome.name,
                    n,
                    links.to(driver=driver.slug, outcome=outcome.slug) if n else "",
                    math.ceil(n * HEAT_LEVELS / largest) if n else 0,
                )
            )
        rows.append(
            {
                "label": driver.name,
                "chosen": driver.slug in (cleaned.get("driver") or []),
                "cells": row,
            }
        )
    columns = [
        {"label": o.name, "chosen": o.slug in (cleaned.get("outcome") or [])} for o in outcomes
    ]
    active = filterset.active_facets()
    return {
        "columns": columns,
        "rows": rows,
        "empty": not largest,
        "in_use": [name for name in ("driver", "outcome") if name in active],
    }


def theme_year(filterset, counts, links):
    """Themes as rows, start years (first to last, gaps as zeros) as columns."""
    cleaned = _cleaned(filterset)
    cells = counts["theme_year"]
    years = sorted({year for _, year in cells})
    span = list(range(years[0], years[-1] + 1)) if years else []
    largest = max(cells.values(), default=0)
    rows = []
    for theme in terms("theme").values():
        row = []
        for year in span:
            n = cells.get((theme.id, year), 0)
            url = links.to(theme=theme.slug, year_from=year, year_to=year) if n else ""
            row.append(Cell(str(year), n, url, math.ceil(n * HEAT_LEVELS / largest) if n else 0))
        rows.append(
            {
                "label": theme.name,
                "chosen": theme.slug in (cleaned.get("theme") or []),
                "cells": row,
            }
        )
    active = filterset.active_facets()
    return {
        "columns": [{"label": str(year), "chosen": False} for year in span],
        "rows": rows,
        "empty": not largest,
        "in_use": [
            words
            for name, words in (("theme", "theme"), ("year_from", "start year"))
            if name in active or (name == "year_from" and "year_to" in active)
        ],
    }


def bound(request):
    """The page's filterset: the list's filters, less a sort carried over from the list."""
    return InitiativeFilter.for_request(request, ignore=("sort",))


TABLES = {
    "cross": ("drivers-by-outcome", "Driver"),
    "theme_year": ("themes-by-start-year", "Theme"),
}


@require_safe
def insights_csv(request, table):
    """One chart or table of the page as CSV, for the same filters: label and count, or a
    row per driver (theme) with a column per outcome (year)."""
    filterset = bound(request)
    counts = count(filterset)
    links = Links(filterset)
    rows = []
    if table in dict(TABLES.values()):
        name = next(key for key, (slug, _) in TABLES.items() if slug == table)
        grid = (cross_tab if name == "cross" else theme_year)(filterset, counts, links)
        rows.append([TABLES[name][1], *(column["label"] for column in grid["columns"])])
        rows += [[row["label"], *(cell.count for cell in row["cells"])] for row in grid["rows"]]
    else:
        chart = next((c for c in charts(filterset, counts, links) if c["slug"] == table), None)
        if chart is None:
            raise Http404("No such table")
        rows.append([chart["column"], "Case studies"])
        rows += [[bar.label, bar.count] for bar in chart["bars"]]
    response = HttpResponse(content_type="text/csv; charset=utf-8; header=present")
    response["Content-Disposition"] = f'attachment; filename="insights-{table}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([neutralise(str(cell)) for cell in row])
    return response


@require_safe
def insights(request):
    """The page: the figures for the filters in the query string, each a link to its list.

    Sorting means nothing here, so a sort carried over from the list is set aside rather than
    bound (a repeated or unknown one would otherwise be reported as a problem). The charts
    and table depend on the usable filters and the catalogue alone, so on PostgreSQL they
    are cached rendered, like the list's filter panel; the problems and chips, which depend
    on the exact query string, are rendered each time.
    """
    filterset = bound(request)
    counts = count(filterset)
    links = Links(filterset)
    figures = caching.cached(
        caching.query_key(filterset, "insights-html"),
        lambda: render_to_string(
            "catalogue/insights.html#figures",
            {
                "charts": charts(filterset, counts, links),
                "cross": cross_tab(filterset, counts, links),
                "theme_year": theme_year(filterset, counts, links),
                "filters_query": links.query(),
            },
        ),
    )
    return render(
        request,
        "catalogue/insights.html",
        {
            "total": counts["total"],
            "total_url": links.to() if counts["total"] else "",
            "figures": figures,
            "active_filters": filterset.active_filters(),
            "problems": filterset.problems,
            "filters_query": links.query(),
        },
    )
