"""A result's card (catalogue/cards.py) says what the model says: the same title, link,
summary, headline result, organisation, places, years and stage, every value escaped."""

import html
import random
import re

import pytest

from catalogue import cards
from catalogue.models import Initiative
from tests.factories import InitiativeFactory, MetricFactory, OrganisationFactory, random_catalogue

pytestmark = pytest.mark.django_db


def expected_meta(initiative):
    meta = [initiative.lead_organisation.display_name]
    places = [str(place) for place in initiative.places.all()]
    if places:
        meta.append(", ".join(places))
    if initiative.start_year:
        meta.append(initiative.years)
    if initiative.stage:
        meta.append(initiative.get_stage_display())
    return " · ".join(meta)


def parts(card_html):
    """The card's text parts, unescaped, as a reader gets them."""
    found = re.fullmatch(
        r'<li class="app-result"><h2 class="govuk-heading-m"><a class="govuk-link" '
        r'href="(?P<href>[^"]*)">(?P<title>[^<]*)</a></h2><p class="govuk-body">'
        r"(?P<summary>[^<]*)</p>(?:<p [^>]*app-result__metric\"><span [^>]*>Headline result: "
        r"</span>(?P<headline>[^<]*)</p>)?<p class=\"govuk-body-s app-result__meta\">"
        r"(?P<meta>[^<]*)</p></li>",
        card_html,
    )
    assert found, card_html
    return {k: html.unescape(v) if v is not None else "" for k, v in found.groupdict().items()}


def test_cards_say_what_the_records_say():
    random_catalogue(random.Random(17), size=30)
    initiatives = Initiative.objects.published().with_summary().order_by("pk")
    drawn = dict(cards.of(Initiative.objects.published().order_by("pk")))
    assert list(drawn) == [i.pk for i in initiatives]
    for initiative in initiatives:
        assert parts(drawn[initiative.pk].html()) == {
            "href": initiative.get_absolute_url(),
            "title": initiative.title,
            "summary": initiative.summary,
            "headline": initiative.headline_metric,
            "meta": expected_meta(initiative),
        }


def test_cards_escape_every_value():
    organisation = OrganisationFactory(name='<b>"Council"</b> & co', unnamed=True)
    initiative = InitiativeFactory(
        title="<script>alert(1)</script>",
        summary="A <img src=x onerror=alert(1)> summary",
        lead_organisation=organisation,
    )
    MetricFactory(initiative=initiative, label="<i>Costs</i>")
    card_html = cards.fetch([initiative.pk])[initiative.pk].html()
    assert "<script>" not in card_html and "<img" not in card_html and "<b>" not in card_html
    assert "<i>" not in card_html
    found = parts(card_html)
    assert found["title"] == "<script>alert(1)</script>"
    assert found["meta"].startswith('<b>"Council"</b> & co, not named in the source')
    assert found["headline"].startswith("<i>Costs</i>")


def test_only_published_records_have_cards():
    shown = InitiativeFactory()
    hidden = [
        InitiativeFactory(status=status, published_at=None).pk
        for status in ("draft", "in-review", "archived")
    ]
    assert list(cards.fetch([shown.pk, *hidden])) == [shown.pk]
    assert cards.fetch(hidden) == {}
    assert cards.fetch([]) == {}
    assert [pk for pk, _ in cards.of(Initiative.objects.order_by("pk"))] == [shown.pk]
