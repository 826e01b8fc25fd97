from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from catalogue.models import Initiative, Metric, Partnership, Place, Source, Theme
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("constraint", "fields"),
    [
        ("initiative_end_after_start", {"start_year": 2020, "end_year": 2019}),
        ("initiative_start_year_sane", {"start_year": 1800}),
        ("initiative_end_year_sane", {"end_year": 3000}),
        ("initiative_evidence_level_1_to_5", {"evidence_level": 6}),
        ("initiative_status_valid", {"status": "live"}),
        ("initiative_stage_valid", {"stage": "rumoured"}),
        ("initiative_published_has_date", {"published_at": None}),
    ],
)
def test_initiative_constraints_hold_in_the_database(constraint, fields):
    initiative = InitiativeFactory()
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Initiative.objects.filter(pk=initiative.pk).update(**fields)


def test_end_year_equal_to_start_year_is_allowed():
    initiative = InitiativeFactory(start_year=2021, end_year=2021)
    assert initiative.years == "2021"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(2019, 2022, "2019 to 2022"), (2019, None, "2019 onwards"), (None, None, "")],
)
def test_years_reads_naturally(start, end, expected):
    assert Initiative(start_year=start, end_year=end).years == expected


def test_slugs_are_unique():
    InitiativeFactory(slug="same")
    with pytest.raises(IntegrityError), transaction.atomic():
        InitiativeFactory(slug="same")


def test_taxonomy_slugs_are_unique():
    with pytest.raises(IntegrityError), transaction.atomic():
        Theme.objects.create(name="Cloud again", slug="cloud")


def test_lead_organisation_cannot_be_deleted_while_it_leads():
    initiative = InitiativeFactory()
    with pytest.raises(ProtectedError):
        initiative.lead_organisation.delete()


def test_partner_organisation_cannot_be_deleted_while_it_partners():
    partnership = PartnershipFactory()
    with pytest.raises(ProtectedError):
        partnership.organisation.delete()


def test_taxonomy_term_in_use_as_sector_cannot_be_deleted():
    initiative = InitiativeFactory()
    with pytest.raises(ProtectedError):
        initiative.sector.delete()


def test_deleting_an_initiative_deletes_its_partnerships_metrics_and_sources():
    metric = MetricFactory()
    initiative = metric.initiative
    PartnershipFactory(initiative=initiative)
    initiative.delete()
    assert not Metric.objects.exists()
    assert not Partnership.objects.exists()
    assert not Source.objects.exists()


def test_same_partner_twice_in_the_same_role_is_refused():
    partnership = PartnershipFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        PartnershipFactory(
            initiative=partnership.initiative,
            organisation=partnership.organisation,
            role=partnership.role,
        )


def test_regions_are_only_for_the_uk():
    with pytest.raises(IntegrityError, match="place_region_only_in_uk"), transaction.atomic():
        Place.objects.create(country="FR", region=Place.Region.LONDON)


def test_publishing_sets_published_at_once():
    initiative = DraftFactory()
    assert initiative.published_at is None
    initiative.status = Initiative.Status.PUBLISHED
    initiative.save()
    first = initiative.published_at
    assert first is not None
    initiative.status = Initiative.Status.ARCHIVED
    initiative.save()
    initiative.status = Initiative.Status.PUBLISHED
    initiative.save()
    assert initiative.published_at == first


def test_published_returns_only_published():
    published = InitiativeFactory()
    for status in ("draft", "in-review", "archived"):
        DraftFactory(status=status)
    assert list(Initiative.objects.published()) == [published]


def test_involving_finds_lead_and_partner_roles():
    organisation = OrganisationFactory()
    led = InitiativeFactory(lead_organisation=organisation)
    partnered = PartnershipFactory(organisation=organisation).initiative
    InitiativeFactory()
    assert set(Initiative.objects.involving(organisation)) == {led, partnered}


@pytest.mark.parametrize(
    ("value", "unit", "direction", "expected"),
    [
        (Decimal("25.00"), "%", "decrease", "25% decrease"),
        (Decimal("1200"), "£", "increase", "£1200 increase"),
        (Decimal("3.50"), "hours", "decrease", "3.5 hours decrease"),
        (Decimal("0"), "%", "no-change", "0%, no change"),
    ],
)
def test_metric_display_value(value, unit, direction, expected):
    assert Metric(value=value, unit=unit, direction=direction).display_value == expected


def test_every_model_has_a_readable_name_and_url():
    metric = MetricFactory()
    partnership = PartnershipFactory(initiative=metric.initiative)
    initiative = metric.initiative
    theme = initiative.themes.first()
    assert str(initiative) == initiative.title
    assert initiative.get_absolute_url() == f"/initiatives/{initiative.slug}/"
    assert theme.get_absolute_url() == f"/initiatives/?theme={theme.slug}"
    assert initiative.lead_organisation.get_absolute_url().startswith("/organisations/")
    assert "25% decrease" in str(metric)
    assert partnership.organisation.name in str(partnership)
    assert str(Place(country="GB", region="TLI")) == "London, United Kingdom"


@pytest.mark.parametrize(
    "value, unit, direction, headline",
    [
        (25, "%", "decrease", "Administrative costs \u221225%"),
        (40, "%", "increase", "Administrative costs +40%"),
        ("1.50", "£", "decrease", "Administrative costs \u2212£1.5"),
        (3, "hours", "increase", "Administrative costs +3 hours"),
        (0, "%", "no-change", "Administrative costs: 0%, no change"),
    ],
)
def test_a_metric_headline_signs_its_figure(value, unit, direction, headline):
    metric = Metric(label="Administrative costs", value=value, unit=unit, direction=direction)
    assert metric.headline == headline
