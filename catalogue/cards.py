"""A result as the list and the home page show it: its card.

A card is the title linking to the case study, the summary (its searched words marked when
searching), the headline result, and a line naming the lead organisation, the places, the
years and the stage.

Cards are read with two statements for a whole page, written out once: the initiatives'
columns (the headline result by the same subqueries as `with_summary()`), and their places.
They are drawn in Python with every value escaped. Before, a page built model instances and
ran a template per card: about 0.5 ms per card, a third of a cold list request at 10,000
initiatives; and compiling the ORM's statement took over a millisecond a page.

A `Card` holds its parts as escaped HTML. It does not depend on a search, so the list caches
one per initiative and catalogue version (the `summaries` cache), and a search swaps in its
highlighted summary (`Card.html(summary=...)`).
"""

import functools
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from urllib.parse import quote

from django.db import connection, connections
from django.urls import reverse

from catalogue import routing
from catalogue.models import Initiative, Metric, Organisation, Place
from catalogue.models.evidence import headline_text
from catalogue.models.initiatives import years_text
from catalogue.models.organisations import display_name

HEADLINE_COLUMNS = ("label", "value", "unit", "direction")
STAGES = dict(Initiative.Stage.choices)


@dataclass(frozen=True, slots=True)
class Card:
    """A result's parts, each escaped HTML, and its summary as text (to highlight)."""

    link: str
    summary: str
    rest: str
    text: str

    def html(self, level=2, summary=None):
        """The card as an item of the results' list; `summary` (safe HTML) replaces the
        summary, as a search's highlighted one does."""
        return (
            f'<li class="app-result"><h{level:d} class="govuk-heading-m">{self.link}</h{level:d}>'
            f'<p class="govuk-body">{self.summary if summary is None else summary}</p>'
            f"{self.rest}</li>"
        )


def card(*, url, title, summary, headline, organisation, places, start_year, end_year, stage):
    """The card of an initiative from its values (`places` as their names, in order)."""
    meta = [escape(organisation)]
    if places:
        meta.append(escape(", ".join(places)))
    if start_year:
        meta.append(escape(years_text(start_year, end_year)))
    if stage:
        meta.append(escape(str(STAGES.get(stage, stage))))
    metric = (
        '<p class="govuk-body-s govuk-!-font-weight-bold govuk-!-margin-bottom-2 '
        'app-result__metric"><span class="govuk-visually-hidden">Headline result: </span>'
        f"{escape(headline)}</p>"
        if headline
        else ""
    )
    return Card(
        link=f'<a class="govuk-link" href="{escape(url)}">{escape(title)}</a>',
        summary=escape(summary),
        text=summary,
        rest=f'{metric}<p class="govuk-body-s app-result__meta">{" · ".join(meta)}</p>',
    )


@functools.cache
def place_name(country, region):
    """A place's name from its codes, as str(Place) gives it (names never change at run
    time: they come from the codes)."""
    return str(Place(country=country, region=region))


def headline(label, value, unit, direction):
    """The headline result ("Administrative costs", a minus sign, "25%"), or ''."""
    if label is None:
        return ""
    return headline_text(label, value, unit, direction)


MARKER = "slug-of-the-case-study"


def detail_urls():
    """slug -> the case study's URL: reversed once (under the current script prefix), as
    reversing took a quarter of a millisecond per card."""
    head, tail = reverse("initiative-detail", kwargs={"slug": MARKER}).split(MARKER)
    return lambda slug: f"{head}{quote(slug)}{tail}"


def fetch(ids, using=None):
    """{id: Card} of the published initiatives among `ids`, read from `using` (by default
    where a public read goes now: a replica, or the primary)."""
    if not ids:
        return {}
    ids = list(ids)
    with connections[using or routing.read_alias()].cursor() as cursor:
        cursor.execute(rows_sql().format(ids=marks(ids)), [Initiative.Status.PUBLISHED, *ids])
        rows = cursor.fetchall()
        if not rows:
            return {}
        found_ids = [row[0] for row in rows]
        cursor.execute(places_sql().format(ids=marks(found_ids)), found_ids)
        places = {}
        for initiative_id, country, region in cursor.fetchall():
            places.setdefault(initiative_id, []).append(place_name(country, region))
    url = detail_urls()
    found = {}
    for pk, slug, title, summary, start, end, stage, name, unnamed, *metric in rows:
        label, value, unit, direction = metric
        found[pk] = card(
            url=url(slug),
            title=title,
            summary=summary,
            headline=headline(label, decimal(value), unit, direction),
            organisation=display_name(name, bool(unnamed)),
            places=places.get(pk, ()),
            start_year=start,
            end_year=end,
            stage=stage,
        )
    return found


def of(initiatives):
    """[(id, Card)] of the published initiatives of a queryset (sliced or not), in its
    order."""
    ids = list(initiatives.values_list("pk", flat=True))
    found = fetch(ids, using=initiatives.db)
    return [(pk, found[pk]) for pk in ids if pk in found]


def marks(values):
    """One placeholder a value."""
    return ", ".join(["%s"] * len(values))


def decimal(value):
    """A metric's value as a Decimal (SQLite gives an int or a float: its shortest repr is
    the figure stored, which has two decimal places at most)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


@functools.cache
def rows_sql():
    """The initiatives' columns, the lead organisation's name and the first metric's (the
    same headline as with_summary()'s: the metric with the lowest id)."""
    q = connection.ops.quote_name
    initiative, organisation = Initiative._meta.db_table, Organisation._meta.db_table
    metric = Metric._meta.db_table
    first = (
        f"(SELECT m.{{column}} FROM {q(metric)} m WHERE m.initiative_id = i.id "
        "ORDER BY m.id LIMIT 1)"
    )
    headline_columns = ", ".join(first.format(column=q(c)) for c in HEADLINE_COLUMNS)
    return (
        "SELECT i.id, i.slug, i.title, i.summary, i.start_year, i.end_year, i.stage, "
        f"o.name, o.unnamed, {headline_columns} "
        f"FROM {q(initiative)} i JOIN {q(organisation)} o ON o.id = i.lead_organisation_id "
        "WHERE i.status = %s AND i.id IN ({ids})"
    )


@functools.cache
def places_sql():
    """The initiatives' places in Place's own order (country, region)."""
    q = connection.ops.quote_name
    links, place = Initiative.places.through._meta.db_table, Place._meta.db_table
    return (
        f"SELECT l.initiative_id, p.country, p.region FROM {q(links)} l "
        f"JOIN {q(place)} p ON p.id = l.place_id WHERE l.initiative_id IN ({{ids}}) "
        "ORDER BY l.initiative_id, p.country, p.region"
    )
