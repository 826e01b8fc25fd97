"""The editorial workflow: who may do what to a record's status, and what publishing needs."""

import datetime

import pytest
from django.contrib.auth.models import Group

from catalogue import workflow
from catalogue.models import Initiative, Status
from tests.admin_support import (
    ADMIN,
    client_for,
    form_data,
    member_of,
    new_record_data,
    post_change,
    run_action,
)
from tests.factories import DraftFactory, InitiativeFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor():
    return member_of("Editors", "eddie")


@pytest.fixture
def publisher():
    return member_of("Publishers", "pat")


def test_groups_are_created_with_the_right_permissions():
    editors = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    publishers = set(
        Group.objects.get(name="Publishers").permissions.values_list("codename", flat=True)
    )
    assert {"add_initiative", "change_initiative", "view_initiative"} <= editors
    assert "publish_initiative" not in editors
    assert "delete_initiative" not in editors
    assert editors < publishers
    assert {"publish_initiative", "delete_initiative", "change_theme"} <= publishers


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("submit", Status.DRAFT, Status.IN_REVIEW),
        ("withdraw", Status.IN_REVIEW, Status.DRAFT),
        ("publish", Status.DRAFT, Status.PUBLISHED),
        ("publish", Status.IN_REVIEW, Status.PUBLISHED),
        ("publish", Status.ARCHIVED, Status.PUBLISHED),
        ("unpublish", Status.PUBLISHED, Status.DRAFT),
        ("archive", Status.PUBLISHED, Status.ARCHIVED),
        ("archive", Status.IN_REVIEW, Status.ARCHIVED),
        ("unarchive", Status.ARCHIVED, Status.DRAFT),
    ],
)
def test_each_transition_moves_the_status(publisher, name, start, end):
    initiative = InitiativeFactory(status=start)
    workflow.apply(initiative, name, publisher)
    initiative.refresh_from_db()
    assert initiative.status == end


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("submit", Status.IN_REVIEW),
        ("submit", Status.PUBLISHED),
        ("withdraw", Status.DRAFT),
        ("publish", Status.PUBLISHED),
        ("unpublish", Status.DRAFT),
        ("archive", Status.ARCHIVED),
        ("unarchive", Status.PUBLISHED),
    ],
)
def test_a_transition_from_the_wrong_status_is_refused(publisher, name, start):
    initiative = InitiativeFactory(status=start)
    with pytest.raises(workflow.TransitionError):
        workflow.apply(initiative, name, publisher)
    initiative.refresh_from_db()
    assert initiative.status == start


@pytest.mark.parametrize("name", ["publish", "archive"])
def test_an_editor_may_not_publish_or_archive(editor, name):
    initiative = DraftFactory()
    with pytest.raises(workflow.TransitionError, match="permission"):
        workflow.apply(initiative, name, editor)
    initiative.refresh_from_db()
    assert initiative.status == Status.DRAFT


def test_an_editor_may_submit_and_withdraw(editor):
    initiative = DraftFactory()
    workflow.apply(initiative, "submit", editor)
    assert Initiative.objects.get(pk=initiative.pk).status == Status.IN_REVIEW
    workflow.apply(initiative, "withdraw", editor)
    assert Initiative.objects.get(pk=initiative.pk).status == Status.DRAFT


def test_publishing_checks_every_requirement(publisher):
    initiative = DraftFactory(source=False)
    initiative.drivers.clear()
    initiative.themes.clear()
    initiative.outcomes.clear()
    with pytest.raises(workflow.TransitionError) as raised:
        workflow.apply(initiative, "publish", publisher)
    assert set(raised.value.problems) == {"drivers", "themes", "outcomes", "sources"}
    initiative.refresh_from_db()
    assert initiative.status == Status.DRAFT
    assert initiative.published_at is None


def test_published_at_is_set_on_first_publication_and_kept(publisher):
    initiative = DraftFactory()
    workflow.apply(initiative, "publish", publisher)
    first = Initiative.objects.get(pk=initiative.pk).published_at
    assert first is not None
    workflow.apply(initiative, "unpublish", publisher)
    workflow.apply(initiative, "publish", publisher)
    again = Initiative.objects.get(pk=initiative.pk)
    assert again.published_at == first
    assert again.updated_at > first


# The admin: buttons on the change form.


def test_an_editor_drafts_and_submits_in_the_admin_but_cannot_publish(editor):
    client = client_for(editor)
    lead = OrganisationFactory()
    response = client.post(f"{ADMIN}add/", new_record_data(lead, _transition="submit"))
    assert response.status_code == 302
    initiative = Initiative.objects.get(slug="shared-care-records")
    assert initiative.status == Status.IN_REVIEW
    assert initiative.created_by == editor

    page = client.get(f"{ADMIN}{initiative.pk}/change/")
    assert b'value="withdraw"' in page.content
    assert b'value="publish"' not in page.content

    response = post_change(client, initiative, "publish")
    assert response.status_code == 200
    assert "You do not have permission to “publish”." in response.text
    assert Initiative.objects.get(pk=initiative.pk).status == Status.IN_REVIEW


def test_the_status_field_cannot_be_posted_directly(editor):
    client = client_for(editor)
    initiative = DraftFactory()
    response = post_change(client, initiative, status="published", title="Renamed")
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.title == "Renamed"
    assert initiative.status == Status.DRAFT


def test_an_editor_can_only_propose_changes_to_a_published_record(editor):
    client = client_for(editor)
    initiative = InitiativeFactory()
    page = client.get(f"{ADMIN}{initiative.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b'name="_propose"' in page.content
    assert b'name="_transition"' not in page.content
    url = f"{ADMIN}{initiative.pk}/change/"
    data = form_data(page)
    # A step smuggled into the post is refused with a message; nothing is saved or proposed.
    response = client.post(url, {**data, "title": "Vandalised", "_transition": "unpublish"})
    assert response.status_code == 302
    assert "cannot change the status" in client.get(url).text
    live = Initiative.objects.get(pk=initiative.pk)
    assert (live.title, live.status) == (initiative.title, Status.PUBLISHED)
    assert not live.proposals.exists()
    # Even a plain "Save" from an Editor is only ever a proposal.
    response = client.post(url, {**data, "title": "Vandalised", "_save": "Save"})
    assert response.status_code == 302
    assert Initiative.objects.get(pk=initiative.pk).title == initiative.title
    assert live.proposals.get().proposed["fields"]["title"] == "Vandalised"


def test_a_publisher_publishes_a_complete_record_from_the_form(publisher):
    client = client_for(publisher)
    initiative = DraftFactory()
    response = post_change(client, initiative, "publish")
    assert response.status_code == 302
    assert response["Location"].endswith(f"{initiative.pk}/change/")
    initiative.refresh_from_db()
    assert initiative.status == Status.PUBLISHED
    assert initiative.published_at is not None
    assert initiative.updated_by == publisher
    assert client.get(initiative.get_absolute_url()).status_code == 200


def test_publishing_an_incomplete_record_shows_what_is_missing_and_saves_nothing(publisher):
    client = client_for(publisher)
    initiative = DraftFactory(source=False)
    initiative.drivers.clear()
    initiative.outcomes.clear()
    response = post_change(client, initiative, "publish", title="Edited title")
    assert response.status_code == 200
    for message in (
        "Choose at least one driver before publishing.",
        "Choose at least one outcome before publishing.",
        "Add at least one source before publishing.",
        "This initiative cannot be published yet",
    ):
        assert message in response.text
    assert "Choose at least one theme" not in response.text
    initiative.refresh_from_db()
    assert initiative.status == Status.DRAFT
    assert initiative.title != "Edited title"
    assert client.get(initiative.get_absolute_url()).status_code == 404


def test_sources_added_in_the_same_save_count_towards_publishing(publisher):
    client = client_for(publisher)
    initiative = DraftFactory(source=False)
    response = post_change(
        client,
        initiative,
        "publish",
        **{"sources-0-title": "Council report", "sources-0-url": "https://example.org/r"},
    )
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.status == Status.PUBLISHED
    assert initiative.sources.get().title == "Council report"


def test_a_published_record_cannot_lose_what_publishing_needs(publisher):
    client = client_for(publisher)
    initiative = InitiativeFactory()
    response = post_change(client, initiative, themes=[])
    assert response.status_code == 200
    assert "Choose at least one theme before publishing." in response.text
    assert initiative.themes.exists()


def test_publishing_a_new_record_needs_tags_and_a_source(publisher):
    client = client_for(publisher)
    lead = OrganisationFactory()
    response = client.post(f"{ADMIN}add/", new_record_data(lead, _transition="publish"))
    assert response.status_code == 200
    assert "Choose at least one driver before publishing." in response.text
    assert not Initiative.objects.filter(slug="shared-care-records").exists()


def test_an_unknown_transition_saves_nothing(publisher):
    client = client_for(publisher)
    initiative = DraftFactory()
    response = post_change(client, initiative, "explode", title="Changed")
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.title != "Changed"


# The admin: actions on the list.


def test_the_publish_action_publishes_complete_records_and_reports_the_rest(publisher):
    client = client_for(publisher)
    complete = DraftFactory()
    incomplete = DraftFactory(title="Half done", source=False)
    response = run_action(client, "publish", [complete, incomplete])
    complete.refresh_from_db()
    incomplete.refresh_from_db()
    assert complete.status == Status.PUBLISHED
    assert incomplete.status == Status.DRAFT
    text = response.content.decode()
    assert "Published: 1 initiative." in text
    assert "“Half done” (Add at least one source before publishing.)" in text


def test_editors_do_not_get_the_publishing_actions(editor):
    client = client_for(editor)
    page = client.get(ADMIN)
    actions = dict(page.context["action_form"].fields["action"].choices)
    assert "submit_for_review" in actions
    assert "publish" not in actions
    assert "archive" not in actions
    assert "delete_selected" not in actions
    draft = DraftFactory()
    run_action(client, "publish", [draft])
    assert Initiative.objects.get(pk=draft.pk).status == Status.DRAFT


def test_the_archive_action_takes_records_off_the_site(publisher):
    client = client_for(publisher)
    initiative = InitiativeFactory()
    assert client.get(initiative.get_absolute_url()).status_code == 200
    run_action(client, "archive", [initiative])
    assert Initiative.objects.get(pk=initiative.pk).status == Status.ARCHIVED
    assert client.get(initiative.get_absolute_url()).status_code == 404


def test_the_detail_page_shows_first_published_and_last_updated(client):
    initiative = InitiativeFactory(
        published_at=datetime.datetime(2024, 3, 5, 12, tzinfo=datetime.UTC)
    )
    Initiative.objects.filter(pk=initiative.pk).update(
        updated_at=datetime.datetime(2025, 7, 9, 12, tzinfo=datetime.UTC)
    )
    text = client.get(initiative.get_absolute_url()).text
    assert "First published" in text
    assert "5 March 2024" in text
    assert "Last updated" in text
    assert "9 July 2025" in text


def test_editors_preview_a_draft_that_the_public_cannot_see(client, editor):
    draft = DraftFactory(title="Work in progress")
    preview = f"{draft.get_absolute_url()}preview/"
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(preview).status_code == 302  # to the sign-in page
    response = client_for(editor).get(preview)
    assert response.status_code == 200
    assert "Work in progress" in response.text
    assert "This case study is draft and not public." in response.text
    assert "Not yet published" in response.text
    assert response["Cache-Control"] == "private, no-store"
    admin_page = client_for(editor).get(f"{ADMIN}{draft.pk}/change/")
    assert preview in admin_page.text
