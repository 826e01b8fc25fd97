"""The hand-written seed catalogue in fixtures/ loads, is complete, and answers the questions
the catalogue exists for."""

import pytest
from django.core.management import call_command
from reversion.models import Version

from catalogue import workflow
from catalogue.models import Initiative, Organisation, Partnership, Quote, Source
from tests.readers import result_leads

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seed_catalogue):
    return Initiative.objects.published()


def test_every_seed_initiative_is_published(seeded):
    assert seeded.count() == 22
    assert seeded.count() == Initiative.objects.count()


@pytest.mark.parametrize(
    "slug",
    [
        "nhs-app",
        "nhs-national-programme-for-it",
        "care-data-patient-records-programme",
        "mindlab-denmarks-cross-government-innovation-lab",
        "policy-lab-design-led-policy-making",
        "behavioural-insights-team",
        "gov-uk-chat-generative-ai-pilot",
        "paris-participatory-budget",
        "singapores-smart-nation-programme",
        "data-gov-the-us-open-data-portal",
        "open-data-institute",
        "aadhaar-digital-identity-in-india",
        "canadian-digital-service",
    ],
)
def test_records_no_seed_article_supports_are_gone(client, seeded, slug):
    assert not Initiative.objects.filter(slug=slug).exists()
    assert client.get(f"/initiatives/{slug}/").status_code == 404


def test_every_record_is_complete(seeded):
    for initiative in seeded.with_detail():
        assert initiative.summary.strip(), initiative
        assert initiative.lead_organisation_id, initiative
        assert initiative.drivers.all(), initiative
        assert initiative.themes.all(), initiative
        assert initiative.outcomes.all(), initiative
        sources = initiative.sources.all()
        assert sources, initiative
        assert all(s.title for s in sources), initiative
        assert workflow.publication_problems(initiative) == {}, initiative


def test_the_two_failures_are_recorded_with_their_lessons_and_no_stage(seeded):
    failed = seeded.filter(outcomes__slug="none-reported").exclude(lessons="")
    assert {i.slug for i in failed} == {
        "city-public-transport-system-that-faltered",
        "government-department-digital-transformation-that-stalled",
    }
    # "faltered" and "stalled" are not "discontinued": the stage is not stated.
    assert {i.stage for i in failed} == {""}


def test_no_seed_record_has_a_year(seeded):
    assert not seeded.filter(start_year__isnull=False).exists()
    assert not seeded.filter(end_year__isnull=False).exists()


def test_only_hackney_reports_a_measured_result(seeded):
    measured = seeded.filter(metrics__isnull=False).distinct()
    assert [i.slug for i in measured] == ["digitising-housing-services-in-hackney"]
    assert not seeded.filter(evidence_level__gte=2).exclude(pk__in=measured).exists()


def test_anonymous_examples_are_unnamed_organisations(client, seeded):
    waste = seeded.get(slug="city-predictive-analytics-for-waste-collection-routes")
    assert waste.lead_organisation.unnamed
    assert str(waste.lead_organisation) == "A city, not named in the source"
    html = client.get(waste.get_absolute_url()).text
    assert "A city, not named in the source" in html
    assert client.get(waste.lead_organisation.get_absolute_url()).status_code == 200
    danish = seeded.get(slug="danish-municipality-involving-citizens-in-decisions")
    assert str(danish.lead_organisation) == "A Danish municipality, not named in the source"


@pytest.mark.parametrize(
    "slug",
    [
        "techuk-innovation-hub",
        "microsoft-enterprise-skills-initiative",
        "city-predictive-analytics-for-waste-collection-routes",
        "city-smart-traffic-management-system",
        "city-public-transport-system-that-faltered",
        "government-department-digital-transformation-that-stalled",
        "online-permit-application-service",
        "e-health-portal-user-focus-groups",
    ],
)
def test_initiatives_the_articles_describe_are_present(seeded, slug):
    initiative = seeded.get(slug=slug)
    assert Quote.objects.filter(initiative=initiative).exists()


def test_search_for_housing_finds_hackney(client, seeded):
    response = client.get("/initiatives/", {"q": "housing"})
    leads = set(result_leads(response))
    assert any("Hackney" in name for name in leads)


def test_hackney_records_25_percent_lower_administrative_costs(seeded):
    hackney = seeded.get(lead_organisation__name__contains="Hackney")
    metric = hackney.metrics.get(label__icontains="administrative cost")
    assert (metric.value, metric.unit, metric.direction) == (25, "%", "decrease")


def test_data_analytics_theme_lists_gmca(client, seeded):
    response = client.get("/initiatives/", {"theme": "data-analytics"})
    leads = set(result_leads(response))
    assert any("Greater Manchester" in name for name in leads)


def test_digital_chc_page_shows_all_four_organisations_with_roles(client, seeded):
    chc = seeded.get(title__icontains="Continuing Healthcare")
    html = client.get(chc.get_absolute_url()).text
    assert chc.lead_organisation.name == "Herefordshire & Worcestershire ICB"
    roles = {
        p.organisation.name: p.get_role_display()
        for p in chc.partnerships.select_related("organisation")
    }
    assert roles == {
        "IEG4": "Technology supplier",
        "West Midlands Health and Wellbeing Innovation Network": "Network or convenor",
        "University of Warwick": "Academic partner",
    }
    for name, role in roles.items():
        assert name in html and role in html
    assert "Herefordshire &amp; Worcestershire ICB" in html


@pytest.mark.parametrize(
    "words",
    [
        "Microsoft Crown Commercial Service",
        "GOV.UK",
        "e-Residency",
        "Digital Academy",
        "data.gov.uk",
    ],
)
def test_named_case_studies_are_present(seeded, words):
    assert seeded.filter(title__icontains=words.split()[0]).exists(), words


def test_seed_command_loads_once_and_is_safe_to_repeat(db, capsys):
    call_command("seed_catalogue")
    counts = [m.objects.count() for m in (Initiative, Organisation, Partnership, Source)]
    assert counts[0] == 22
    assert "Seed catalogue loaded" in capsys.readouterr().out
    # Each seed record starts its history, so it can be restored or recovered.
    assert Version.objects.get_for_model(Initiative).count() == counts[0]
    call_command("seed_catalogue")
    assert [m.objects.count() for m in (Initiative, Organisation, Partnership, Source)] == counts
    assert "nothing loaded" in capsys.readouterr().out
    call_command("seed_catalogue", "--force")
    assert [m.objects.count() for m in (Initiative, Organisation, Partnership, Source)] == counts


def test_every_seed_page_renders(client, seeded):
    for initiative in seeded.select_related("lead_organisation"):
        assert client.get(initiative.get_absolute_url()).status_code == 200
        assert client.get(initiative.lead_organisation.get_absolute_url()).status_code == 200
