"""A result as the list and the home page show it: its card.

A card is the title linking to the case study, the summary (its searched words marked when
searching), the headline result, and a line naming the lead organisation, the places, the
years and the stage.

Cards are read with two statements for a whole page: the initiatives' columns (the headline
result by the same subqueries as `with_summary()`), and their places. They are drawn in Python
with every value escaped. Before, a page built model instances and ran a template per card:
about 0.5 ms per card, a third of a cold list request at 10,000 initiatives.

A `Card` holds its parts as escaped HTML. It does not depend on a search, so the list caches
one per initiative and catalogue version (the `summaries` cache), and a search swaps in its
highlighted summary (`Card.html(summary=...)`).
"""

import functools
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from django.db.models import OuterRef, Subquery
from django.urls import reverse

from catalogue.models import Initiative, Metric, Place
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


def fetch(ids, initiatives=None):
    """{id: Card} of those of the initiatives `ids` that are in `initiatives` (a queryset;
    all of them by default)."""
    if not ids:
        return {}
    if initiatives is None:
        initiatives = Initiative.objects.all()
    return dict(of(initiatives.filter(pk__in=ids)))


def of(initiatives):
    """[(id, Card)] of the initiatives of a queryset (sliced or not), in its order."""
    first_metric = Metric.objects.filter(initiative=OuterRef("pk")).order_by("pk")
    rows = list(
        initiatives.values_list(
            "pk",
            "slug",
            "title",
            "summary",
            "start_year",
            "end_year",
            "stage",
            "lead_organisation__name",
            "lead_organisation__unnamed",
            *(
                Subquery(first_metric.values(column)[:1])
                for column in HEADLINE_COLUMNS  # the same headline as with_summary()'s
            ),
        )
    )
    if not rows:
        return []
    places = {}
    links = (
        Initiative.places.through.objects.filter(initiative_id__in=[row[0] for row in rows])
        .order_by("initiative_id", "place__country", "place__region")  # Place's ordering
        .values_list("initiative_id", "place__country", "place__region")
    )
    for initiative_id, country, region in links:
        places.setdefault(initiative_id, []).append(place_name(country, region))
    url = detail_urls()
    return [
        (
            pk,
            card(
                url=url(slug),
                title=title,
                summary=summary,
                headline=headline(*metric),
                organisation=display_name(name, unnamed),
                places=places.get(pk, ()),
                start_year=start,
                end_year=end,
                stage=stage,
            ),
        )
        for pk, slug, title, summary, start, end, stage, name, unnamed, *metric in rows
    ]
