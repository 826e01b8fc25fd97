"""Who may restore a version from History or recover a deleted record, tried through the real
admin views: GET the form, POST it back as a browser would, for every role, every status the
record has now (deleted included) and every status the version was saved with.

The rule: the record as it is in the database now and the user's role decide, never the
version being previewed. Editors change drafts and records in review; only Publishers change
published or archived records, and only Publishers undo a deletion.
"""

import itertools

import pytest
import reversion
from reversion.models import Version

from catalogue.models import HistoryEntry, Initiative, Status
from tests.admin_support import ADMIN, client_for, form_data, member_of
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db

STATUSES = [Status.DRAFT, Status.IN_REVIEW, Status.PUBLISHED, Status.ARCHIVED]
NOW = [*STATUSES, "deleted"]
ROLES = ["Editors", "Publishers"]


def save_version(initiative, status, title, user=None):
    initiative.status = status
    initiative.title = title
    with reversion.create_revision():
        initiative.save()
        reversion.add_to_revision(initiative)
        reversion.set_user(user)
    return Version.objects.get_for_object(initiative).order_by("-pk").first()


@pytest.fixture
def users():
    return {role: member_of(role, role.lower()) for role in ROLES}


def record_with_version(version_status, now_status, publisher):
    """A complete record with an earlier version saved as `version_status`, now
    `now_status` (or deleted through the admin by a Publisher)."""
    initiative = InitiativeFactory(title="Live title")
    version = save_version(initiative, version_status, "Version title")
    if now_status == "deleted":
        response = client_for(publisher).post(f"{ADMIN}{initiative.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Initiative.objects.filter(pk=initiative.pk).exists()
    else:
        save_version(initiative, now_status, "Live title")
    return initiative.pk, version


def may_restore(role, now_status):
    if now_status == "deleted":
        return role == "Publishers"
    return role == "Publishers" or now_status in (Status.DRAFT, Status.IN_REVIEW)


@pytest.mark.parametrize(
    ("role", "now_status", "version_status"), list(itertools.product(ROLES, NOW, STATUSES))
)
def test_restore_and_recover_are_decided_by_the_record_as_it_is_now(
    users, role, now_status, version_status
):
    user, publisher = users[role], users["Publishers"]
    pk, version = record_with_version(version_status, now_status, publisher)
    client = client_for(user)
    before = Initiative.objects.filter(pk=pk).values().first()

    if now_status == "deleted":
        # History's restore view does not bring a deleted record back by the side door.
        response = client.post(f"{ADMIN}{pk}/history/{version.pk}/", {"title": "Back"})
        assert response.status_code == 302
        assert not Initiative.objects.filter(pk=pk).exists()
        url = f"{ADMIN}recover/{version.pk}/"
    else:
        url = f"{ADMIN}{pk}/history/{version.pk}/"

    # What a browser would post: the form as the page offers it (to a Publisher, so that an
    # Editor's post is what an attacker would craft from a page they cannot save).
    offered = client_for(publisher).get(url)
    assert offered.status_code == 200
    data = form_data(offered)
    page = client.get(url)

    if not may_restore(role, now_status):
        if now_status == "deleted":
            assert page.status_code == 403
        else:
            assert page.status_code == 200  # readable, not restorable
            assert b'name="_save"' not in page.content
            assert "only a Publisher can restore" in page.text
        assert client.post(url, data).status_code == 403
        assert Initiative.objects.filter(pk=pk).values().first() == before
        return

    assert page.status_code == 200
    assert b'name="_save"' in page.content
    response = client.post(url, form_data(page))
    assert response.status_code == 302, response.content.decode()[:2000]
    restored = Initiative.objects.get(pk=pk)
    assert restored.title == "Version title"
    assert restored.updated_by == user
    if now_status == "deleted":
        assert restored.status == Status.DRAFT  # back for a Publisher to check again
        assert HistoryEntry.objects.filter(initiative_pk=pk, action="recovered").exists()
    else:
        assert restored.status == now_status  # a restore never changes the status
        assert restored.published_at == before["published_at"]
        assert HistoryEntry.objects.filter(initiative_pk=pk, action="restored").exists()


def test_an_editor_is_not_offered_and_cannot_open_the_recover_list(users):
    editor_client = client_for(users["Editors"])
    assert "Recover deleted initiatives" not in editor_client.get(ADMIN).text
    assert editor_client.get(f"{ADMIN}recover/").status_code == 403
    publisher_client = client_for(users["Publishers"])
    assert "Recover deleted initiatives" in publisher_client.get(ADMIN).text
    assert publisher_client.get(f"{ADMIN}recover/").status_code == 200


def test_recovering_a_record_that_exists_is_refused_with_a_message(users):
    publisher = users["Publishers"]
    initiative = InitiativeFactory(title="Live title")
    version = save_version(initiative, Status.DRAFT, "Old title")
    save_version(initiative, Status.PUBLISHED, "Live title")
    client = client_for(publisher)
    response = client.post(f"{ADMIN}recover/{version.pk}/", {"title": "Sneaky"}, follow=True)
    assert "has not been deleted" in response.text
    live = Initiative.objects.get(pk=initiative.pk)
    assert (live.title, live.status) == ("Live title", Status.PUBLISHED)


def test_a_version_of_another_record_or_model_is_not_found(users):
    client = client_for(users["Publishers"])
    first, second = InitiativeFactory(), InitiativeFactory()
    version = save_version(first, Status.PUBLISHED, "First's title")
    assert client.get(f"{ADMIN}{second.pk}/history/{version.pk}/").status_code == 404
    source_version = Version.objects.get_for_model(type(first.sources.get())).first()
    if source_version is not None:
        assert client.get(f"{ADMIN}recover/{source_version.pk}/").status_code == 404
    assert client.get(f"{ADMIN}recover/999999/").status_code == 404
