"""History (django-reversion): changes recorded, versions restorable, deletes recoverable."""

import re

import pytest
from reversion.models import Version

from catalogue.models import Initiative, Status, Theme
from tests.admin_support import (
    ADMIN,
    client_for,
    form_data,
    member_of,
    new_record_data,
    post_change,
    run_action,
)
from tests.factories import DraftFactory, InitiativeFactory, OrganisationFactory, term

pytestmark = pytest.mark.django_db


@pytest.fixture
def publisher():
    return member_of("Publishers", "pat")


@pytest.fixture
def client(publisher):
    return client_for(publisher)


def versions_of(initiative):
    return Version.objects.get_for_object(initiative).select_related("revision")


def add_in_admin(client, **extra):
    lead = OrganisationFactory()
    partner = OrganisationFactory(name="Partner Org")
    data = new_record_data(
        lead,
        title="First title",
        themes=[term(Theme, "cloud").pk],
        **{
            "partnerships-TOTAL_FORMS": 1,
            "partnerships-0-organisation": partner.pk,
            "partnerships-0-role": "funder",
            "sources-TOTAL_FORMS": 1,
            "sources-0-title": "Original source",
        },
        **extra,
    )
    assert client.post(f"{ADMIN}add/", data).status_code == 302
    return Initiative.objects.get(slug="shared-care-records")


def test_every_admin_change_is_recorded_with_who_and_when(client, publisher):
    initiative = add_in_admin(client)
    assert post_change(client, initiative, title="Second title").status_code == 302
    versions = list(versions_of(initiative))
    assert len(versions) == 2
    newest = versions[0]
    assert newest.revision.user == publisher
    assert "Title" in newest.revision.get_comment()
    assert newest.field_dict["title"] == "Second title"
    history = client.get(f"{ADMIN}{initiative.pk}/history/")
    assert history.status_code == 200
    assert "pat" in history.text
    assert "Initial version" in history.text or "Added" in history.text


def test_restoring_an_earlier_version_brings_back_fields_tags_and_inlines(client):
    initiative = add_in_admin(client)
    first_version = versions_of(initiative).last()
    data_changes = {
        "title": "Rewritten",
        "themes": [term(Theme, "open-data").pk],
        "partnerships-0-DELETE": "on",
        "metrics-0-label": "Waiting time",
        "metrics-0-value": "3",
        "metrics-0-unit": "days",
        "metrics-0-direction": "decrease",
    }
    assert post_change(client, initiative, **data_changes).status_code == 302
    initiative.refresh_from_db()
    assert initiative.partnerships.count() == 0
    assert initiative.metrics.count() == 1

    url = f"{ADMIN}{initiative.pk}/history/{first_version.pk}/"
    preview = client.get(url)
    assert preview.status_code == 200
    assert "First title" in preview.text
    # Looking at an old version changes nothing.
    initiative.refresh_from_db()
    assert initiative.title == "Rewritten"

    assert client.post(url, form_data(preview)).status_code == 302
    initiative.refresh_from_db()
    assert initiative.title == "First title"
    assert [t.slug for t in initiative.themes.all()] == ["cloud"]
    assert initiative.partnerships.get().organisation.name == "Partner Org"
    assert initiative.metrics.count() == 0
    assert initiative.sources.get().title == "Original source"
    assert "Reverted" in versions_of(initiative).first().revision.get_comment()


def test_restoring_keeps_the_current_status(client):
    initiative = add_in_admin(client)
    draft_version = versions_of(initiative).last()
    initiative.drivers.set([1])
    initiative.outcomes.set([1])
    assert post_change(client, initiative, "publish").status_code == 302
    assert Initiative.objects.get(pk=initiative.pk).status == Status.PUBLISHED

    url = f"{ADMIN}{initiative.pk}/history/{draft_version.pk}/"
    preview = client.get(url)
    # The draft version had no drivers, so restoring it onto a public record is refused...
    response = client.post(url, form_data(preview))
    assert response.status_code == 200
    assert "Choose at least one driver before publishing." in response.text
    initiative.refresh_from_db()
    assert initiative.status == Status.PUBLISHED
    assert initiative.drivers.exists()
    # ...until the editor completes it; then it is restored and stays published.
    data = form_data(preview)
    data["drivers"] = [1]
    data["outcomes"] = [1]
    assert client.post(url, data).status_code == 302
    initiative.refresh_from_db()
    assert initiative.status == Status.PUBLISHED
    assert initiative.title == "First title"


def test_a_deleted_initiative_can_be_recovered_with_everything_it_had(client):
    initiative = add_in_admin(client)
    initiative.drivers.set([1])
    initiative.outcomes.set([1])
    assert post_change(client, initiative, "publish").status_code == 302
    published_at = Initiative.objects.get(pk=initiative.pk).published_at
    pk = initiative.pk

    response = client.post(f"{ADMIN}{pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Initiative.objects.filter(pk=pk).exists()

    recover_list = client.get(f"{ADMIN}recover/")
    assert "First title" in recover_list.text
    deleted = Version.objects.get_deleted(Initiative).get()
    url = f"{ADMIN}recover/{deleted.pk}/"
    assert client.post(url, form_data(client.get(url))).status_code == 302

    recovered = Initiative.objects.get(pk=pk)
    assert recovered.status == Status.DRAFT  # back for a publisher to check again
    assert recovered.published_at == published_at
    assert recovered.partnerships.get().role == "funder"
    assert recovered.sources.get().title == "Original source"
    assert [t.slug for t in recovered.themes.all()] == ["cloud"]


def test_an_initiative_never_edited_in_the_admin_can_still_be_recovered(client):
    initiative = InitiativeFactory(title="Seeded")
    assert not versions_of(initiative).exists()
    run_action(client, "delete_selected", [initiative])
    client.post(
        ADMIN, {"action": "delete_selected", "_selected_action": [initiative.pk], "post": "yes"}
    )
    assert not Initiative.objects.filter(pk=initiative.pk).exists()
    assert Version.objects.get_deleted(Initiative).get().field_dict["title"] == "Seeded"


def test_each_initiative_in_a_list_action_gets_its_own_revision(client):
    first, second = DraftFactory(), DraftFactory()
    run_action(client, "publish", [first, second])
    for initiative in (first, second):
        version = versions_of(initiative).get()
        assert version.revision.get_comment() == "Published"
        assert version.revision.version_set.count() > 0
        other = second if initiative is first else first
        assert not version.revision.version_set.filter(object_id=str(other.pk)).exists()


def inline_code(html):
    """Inline scripts without a nonce and style attributes: what a strict CSP blocks."""
    scripts = re.findall(r"<script\b[^>]*>", html)
    blocked = [s for s in scripts if "src=" not in s and "nonce=" not in s]
    return blocked + re.findall(r"<[^>]+\sstyle=", html)


def test_history_pages_work_under_the_content_security_policy(client):
    initiative = add_in_admin(client)
    assert post_change(client, initiative, title="Second").status_code == 302
    version = versions_of(initiative).last()
    pages = [
        ADMIN,
        f"{ADMIN}{initiative.pk}/change/",
        f"{ADMIN}{initiative.pk}/history/",
        f"{ADMIN}{initiative.pk}/history/{version.pk}/",
        f"{ADMIN}{initiative.pk}/delete/",
        f"{ADMIN}recover/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response.headers, url
        assert inline_code(response.text) == [], url


def test_history_says_in_words_who_made_each_workflow_step_and_why(publisher):
    editor = member_of("Editors", "edna")
    initiative = DraftFactory(title="Steps")
    editor_client, publisher_client = client_for(editor), client_for(publisher)
    steps = [
        (editor_client, "submit", "Ready for a look."),
        (publisher_client, "withdraw", "Needs a source."),
        (editor_client, "submit", ""),
        (publisher_client, "publish", "Checked against the article."),
        (publisher_client, "unpublish", "The council asked us to check a figure."),
        (publisher_client, "archive", ""),
    ]
    for client, step, comment in steps:
        response = post_change(client, initiative, step, history_comment=comment)
        assert response.status_code == 302, step
    run_action(publisher_client, "bring_back_as_draft", [initiative])
    assert post_change(editor_client, initiative, title="Steps, renamed").status_code == 302

    page = publisher_client.get(f"{ADMIN}{initiative.pk}/history/")
    assert page.status_code == 200
    headlines = re.findall(r"<h3>(.*?)</h3>", page.text)
    assert headlines == [
        "Edited by edna",
        "Brought back from the archive as a draft by pat",
        "Archived by pat",
        "Unpublished by pat",
        "Published by pat",
        "Submitted for review by edna",
        "Returned to draft by pat",
        "Submitted for review by edna",
    ]
    for _, _, comment in steps:
        if comment:
            assert comment in page.text
    # What each step changed, field by field.
    assert "Steps, renamed" in page.text


def test_history_shows_what_changed_between_any_two_versions_relations_included(client):
    initiative = add_in_admin(client)
    first = versions_of(initiative).last()
    changes = {
        "title": "Second title",
        "themes": [term(Theme, "open-data").pk],
        "partnerships-0-DELETE": "on",
        "metrics-0-label": "Waiting time",
        "metrics-0-value": "3",
        "metrics-0-unit": "days",
        "metrics-0-direction": "decrease",
        "metrics-0-cites": str(initiative.sources.get().pk),
    }
    assert post_change(client, initiative, **changes).status_code == 302
    assert post_change(client, initiative, summary="A new summary.").status_code == 302
    newest = versions_of(initiative).first()

    url = f"{ADMIN}{initiative.pk}/history/"
    page = client.get(url, {"older": newest.pk, "newer": first.pk})  # either order
    assert page.status_code == 200
    comparison = page.text[page.text.index('id="comparison"') : page.text.index("Compare two")]
    for text in [
        "First title",
        "Second title",
        "Cloud",
        "Open data",
        "Partner Org (Funder)",
        "Waiting time: 3 days decrease; source: Original source",
        "A new summary.",
    ]:
        assert text in comparison, text
    assert "<del>Partner Org (Funder)</del>" in comparison
    assert "<ins>Waiting time" in comparison

    # Nonsense in the query string is a message, not an error.
    for query in ({"older": "x", "newer": first.pk}, {"older": "999999", "newer": ""}):
        page = client.get(url, query)
        assert page.status_code == 200
        assert "Choose two versions of this record to compare." in page.text
    add_in_admin(client, slug="another-record")
    other = Initiative.objects.get(slug="another-record")
    page = client.get(url, {"older": versions_of(other).first().pk, "newer": first.pk})
    assert "Choose two versions of this record to compare." in page.text


def test_versions_recorded_before_history_said_what_they_were_still_read(client, publisher):
    import reversion

    initiative = InitiativeFactory(title="Old record")
    with reversion.create_revision():
        initiative.save()
        reversion.set_user(publisher)
        reversion.set_comment("Changed Title.")
    page = client.get(f"{ADMIN}{initiative.pk}/history/")
    assert "Changed Title (by pat)" in page.text
