"""The hand-written seed catalogue in fixtures/ loads, is complete, and answers the questions
the catalogue exists for."""

import pytest
from django.core.management import call_command
from reversion.models import Version

from catalogue import workflow
from catalogue.models import Initiative, Organisation, Partnership, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(seed_catalogue):
    return Initiative.objects.published()


def test_at_least_twenty_published_initiatives(seeded):
    assert seeded.count() >= 20
    assert seeded.count() == Initiative.objects.count()


def test_every_record_is_complete(seeded):
    for initiative in seeded.with_detail():
        assert initiative.summary.strip(), initiative
        assert initiative.lead_organisation_id, initiative
        assert initiative.drivers.all(), initiative
        assert initiative.themes.all(), initiative
        assert initiative.outcomes.all(), initiative
        assert initiative.places.all(), initiative
        sources = initiative.sources.all()
        assert sources, initiative
        assert all(s.title for s in sources), initiative
        assert workflow.publication_problems(initiative) == {}, initiative


def test_at_least_two_failed_or_stalled_with_lessons(seeded):
    failed = seeded.filter(stage__in=["discontinued", "pilot"]).exclude(lessons="")
    assert failed.filter(stage="discontinued").count() >= 1
    assert failed.count() >= 2


def test_search_for_housing_finds_hackney(client, seeded):
    response = client.get("/initiatives/", {"q": "housing"})
    leads = {i.lead_organisation.name for i in response.context["initiatives"]}
    assert any("Hackney" in name for name in leads)


def test_hackney_records_25_percent_lower_administrative_costs(seeded):
    hackney = seeded.get(lead_organisation__name__contains="Hackney")
    metric = hackney.metrics.get(label__icontains="administrative cost")
    assert (metric.value, metric.unit, metric.direction) == (25, "%", "decrease")


def test_data_analytics_theme_lists_gmca(client, seeded):
    response = client.get("/initiatives/", {"theme": "data-analytics"})
    leads = {i.lead_organisation.name for i in response.context["initiatives"]}
    assert any("Greater Manchester" in name for name in leads)


def test_digital_chc_page_shows_all_four_organisations_with_roles(client, seeded):
    chc = seeded.get(title__icontains="Continuing Healthcare")
    html = client.get(chc.get_absolute_url()).text
    assert "Herefordshire and Worcestershire" in chc.lead_organisation.name
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
    assert chc.lead_organisation.name in html


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
    assert counts[0] >= 20
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
