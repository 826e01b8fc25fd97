import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Organisation,
    Outcome,
    Place,
    Sector,
    Status,
    Theme,
)
from tests.admin_support import member_of, new_record_data
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    MetricFactory,
    OrganisationFactory,
    PartnershipFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [Initiative, Organisation, Driver, Theme, Outcome, Barrier, Sector, Place]


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editor", "editor@example.org", "x" * 16)
    client.force_login(user)
    return user


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_admin_pages_load(client, editor, model):
    metric = MetricFactory()
    PartnershipFactory(initiative=metric.initiative)
    base = f"/admin/catalogue/{model._meta.model_name}/"
    assert client.get(base).status_code == 200
    assert client.get(base + "add/").status_code == 200
    obj = model.objects.first() if model is not Initiative else metric.initiative
    assert obj is not None
    assert client.get(f"{base}{obj.pk}/change/").status_code == 200
    assert client.get(base, {"q": "a"}).status_code == 200


def test_initiative_changelist_has_no_n_plus_one(client, editor):
    def queries_for_changelist():
        with CaptureQueriesContext(connection) as context:
            response = client.get("/admin/catalogue/initiative/")
        assert response.status_code == 200
        return len(context.captured_queries), response.context["cl"].result_count

    for _ in range(3):
        PartnershipFactory()
    few, count = queries_for_changelist()
    assert count == 3
    for _ in range(12):
        PartnershipFactory()
    assert queries_for_changelist() == (few, 15)


def test_editor_adds_an_initiative_with_inlines(client, editor):
    lead = PartnershipFactory().organisation
    theme = Theme.objects.get(slug="cloud")
    form = {
        "title": "New thing",
        "slug": "new-thing",
        "summary": "It did a thing.",
        "status": "draft",
        "lead_organisation": lead.pk,
        "stage": "pilot",
        "evidence_level": 1,
        "start_year": 2020,
        "themes": [theme.pk],
        "partnerships-TOTAL_FORMS": 1,
        "partnerships-INITIAL_FORMS": 0,
        "partnerships-0-organisation": lead.pk,
        "partnerships-0-role": "funder",
        "metrics-TOTAL_FORMS": 1,
        "metrics-INITIAL_FORMS": 0,
        "metrics-0-label": "Cost",
        "metrics-0-value": "10",
        "metrics-0-unit": "%",
        "metrics-0-direction": "decrease",
        "sources-TOTAL_FORMS": 1,
        "sources-INITIAL_FORMS": 0,
        "quotes-TOTAL_FORMS": 0,
        "quotes-INITIAL_FORMS": 0,
        "sources-0-title": "An article",
        "sources-0-url": "https://example.org/a",
    }
    response = client.post("/admin/catalogue/initiative/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    initiative = Initiative.objects.get(slug="new-thing")
    assert initiative.created_by == editor
    assert initiative.partnerships.get().role == "funder"
    assert initiative.metrics.get().label == "Cost"
    assert initiative.sources.get().title == "An article"


def test_invalid_years_in_the_admin_are_shown_not_lost(client, editor):
    lead = PartnershipFactory().organisation
    response = client.post(
        "/admin/catalogue/initiative/add/",
        {
            "title": "Backwards",
            "slug": "backwards",
            "summary": "Ends before it starts.",
            "status": "draft",
            "lead_organisation": lead.pk,
            "stage": "pilot",
            "evidence_level": 1,
            "start_year": 2022,
            "end_year": 2020,
            "partnerships-TOTAL_FORMS": 0,
            "partnerships-INITIAL_FORMS": 0,
            "metrics-TOTAL_FORMS": 0,
            "metrics-INITIAL_FORMS": 0,
            "sources-TOTAL_FORMS": 0,
            "sources-INITIAL_FORMS": 0,
            "quotes-TOTAL_FORMS": 0,
            "quotes-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "The end year cannot be before the start year." in response.text
    assert 'value="Backwards"' in response.text
    assert not Initiative.objects.filter(slug="backwards").exists()


def test_adding_an_editor_is_one_admin_page_and_they_can_sign_in_and_edit(client):
    admin_user = get_user_model().objects.create_superuser("root", password="x" * 20)
    client.force_login(admin_user)
    page = client.get("/admin/auth/user/add/")
    assert page.status_code == 200
    assert 'name="role"' in page.text and 'name="email"' in page.text
    passphrase = "a long enough passphrase for an editor"
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "edna",
            "email": "edna@example.gov.uk",
            "role": "Editors",
            "usable_password": "true",
            "password1": passphrase,
            "password2": passphrase,
        },
    )
    assert response.status_code == 302, response.text[:2000]
    edna = get_user_model().objects.get(username="edna")
    assert edna.is_staff and not edna.is_superuser
    assert list(edna.groups.all()) == [Group.objects.get(name="Editors")]

    browser = Client()
    signed_in = browser.post(
        "/admin/login/?next=/admin/", {"username": "edna", "password": passphrase}
    )
    assert signed_in.status_code == 302
    assert browser.get("/admin/catalogue/initiative/add/").status_code == 200
    assert browser.get("/admin/auth/user/").status_code == 403  # not for Editors

    # Without a role, nobody is made staff by accident.
    response = client.post(
        "/admin/auth/user/add/",
        {"username": "visitor", "usable_password": "false", "role": ""},
    )
    assert response.status_code == 302
    assert not get_user_model().objects.get(username="visitor").is_staff


def test_deleting_a_term_lists_its_records_and_refuses_to_strand_a_published_one(client):
    client.force_login(member_of("Publishers", "pablo"))
    only_driver = InitiativeFactory(title="Only this driver", drivers=["technology"])
    two_drivers = InitiativeFactory(
        title="Has another driver", drivers=["technology", "public-demand"]
    )
    draft = DraftFactory(title="A draft using it", drivers=["technology"])
    technology = Driver.objects.get(slug="technology")
    url = f"/admin/catalogue/driver/{technology.pk}/delete/"

    page = client.get(url)
    assert page.status_code == 200
    for initiative in (only_driver, two_drivers, draft):
        assert initiative.title in page.text
    assert "Only this driver</a> is published and would be left with no driver" in page.text
    assert "Has another driver</a> is published" not in page.text
    assert 'name="post"' not in page.text  # no way to confirm

    # Posting the confirmation anyway changes nothing.
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert Driver.objects.filter(pk=technology.pk).exists()
    # The bulk action refuses the same way.
    response = client.post(
        "/admin/catalogue/driver/",
        {"action": "delete_selected", "_selected_action": [technology.pk], "post": "yes"},
    )
    assert Driver.objects.filter(pk=technology.pk).exists()
    assert "would be left with no driver" in response.text

    # Once the record has another driver, the term can go; drafts simply lose it.
    only_driver.drivers.add(Driver.objects.get(slug="public-demand"))
    page = client.get(url)
    assert 'name="post"' in page.text
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Driver.objects.filter(pk=technology.pk).exists()
    assert Initiative.objects.get(pk=only_driver.pk).status == Status.PUBLISHED
    assert not draft.drivers.exists()


def new_record(**extra):
    return new_record_data(OrganisationFactory(), **extra)


def test_a_new_record_assumes_no_stage(client):
    client.force_login(member_of("Editors", "edna"))
    page = client.get("/admin/catalogue/initiative/add/")
    assert '<option value="" selected>Not stated in the source</option>' in page.text
    response = client.post("/admin/catalogue/initiative/add/", new_record(stage=""))
    assert response.status_code == 302
    assert Initiative.objects.get().stage == ""


def test_a_metric_cites_a_source_added_in_the_same_save(client):
    client.force_login(member_of("Editors", "edna"))
    metric = {
        "metrics-TOTAL_FORMS": 1,
        "metrics-0-label": "Calls",
        "metrics-0-value": "50",
        "metrics-0-unit": "%",
        "metrics-0-direction": "decrease",
    }
    sources = {
        "sources-TOTAL_FORMS": 2,
        "sources-0-title": "First article",
        "sources-1-title": "The evaluation",
    }
    # A new source that is not filled in is refused, next to the metric, and nothing saved.
    response = client.post(
        "/admin/catalogue/initiative/add/",
        new_record(**metric, **sources, **{"metrics-0-cites": "#3"}),
    )
    assert response.status_code == 200
    assert "There is no new source #3 with a title in Sources below" in response.text
    assert not Initiative.objects.exists()

    response = client.post(
        "/admin/catalogue/initiative/add/",
        new_record(**metric, **sources, **{"metrics-0-cites": "#2"}),
    )
    assert response.status_code == 302
    initiative = Initiative.objects.get()
    assert initiative.metrics.get().source.title == "The evaluation"
    # On the saved record the source is offered by its title.
    page = client.get(f"/admin/catalogue/initiative/{initiative.pk}/change/")
    source = initiative.sources.get(title="The evaluation")
    assert f'<option value="{source.pk}" selected>The evaluation</option>' in page.text


def published_with_quote(**extra):
    """A new record saved and published in one post, with a source, a passage of it and a
    metric citing both, all new rows in the same form."""
    lead = OrganisationFactory()
    return new_record_data(
        lead,
        drivers=[Driver.objects.get(slug="technology").pk],
        themes=[Theme.objects.get(slug="cloud").pk],
        outcomes=[Outcome.objects.get(slug="cost-savings").pk],
        evidence_level=2,
        _transition="publish",
        **{
            "sources-TOTAL_FORMS": 1,
            "sources-0-title": "The evaluation",
            "quotes-TOTAL_FORMS": 1,
            "quotes-0-text": "Costs fell by 25%.",
            "quotes-0-locator": "page 3",
            "quotes-0-source_choice": "#1",
            "metrics-TOTAL_FORMS": 1,
            "metrics-0-label": "Costs",
            "metrics-0-value": "25",
            "metrics-0-unit": "%",
            "metrics-0-direction": "decrease",
            "metrics-0-passage": "#1",
            **extra,
        },
    )


def test_a_metric_cites_a_passage_added_in_the_same_save(client):
    client.force_login(member_of("Publishers", "pablo"))
    response = client.post("/admin/catalogue/initiative/add/", published_with_quote())
    assert response.status_code == 302, response.context["adminform"].form.errors
    initiative = Initiative.objects.get()
    assert initiative.status == "published"
    [metric] = initiative.metrics.all()
    # No source chosen for the metric: it is its passage's.
    assert metric.quote.text == "Costs fell by 25%."
    assert metric.source == metric.quote.source
    assert metric.source.title == "The evaluation"
    page = client.get(initiative.get_absolute_url()).text
    assert f'href="#quote-1" id="metric-{metric.pk}"' in page
    assert '<li id="quote-1">' in page and "<q>Costs fell by 25%.</q> (page 3)" in page
    assert f'href="#metric-{metric.pk}">Back to Costs' in page


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"metrics-0-passage": ""}, "Every metric needs its source and the passage"),
        ({"metrics-TOTAL_FORMS": 0}, "An evidence level of 2 or higher needs at least one metric"),
        ({"quotes-0-source_choice": ""}, "Choose the source this passage is quoted from."),
        ({"metrics-0-passage": "#2"}, "There is no new quote #2 with a text in Quotes"),
    ],
)
def test_publishing_needs_each_metric_quoted_and_measured_evidence(client, changes, message):
    client.force_login(member_of("Publishers", "pablo"))
    response = client.post("/admin/catalogue/initiative/add/", published_with_quote(**changes))
    assert response.status_code == 200
    assert message in response.text
    assert not Initiative.objects.exists()
