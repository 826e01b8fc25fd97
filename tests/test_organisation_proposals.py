"""Changes to a public organisation (one a published initiative names) as a reviewed proposal,
as for a published initiative: an Editor's edit of it in the admin is kept as a proposal and
the public keeps seeing the live name everywhere until a Publisher publishes it. An
organisation only drafts name stays the Editors' to change directly."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from catalogue import workflow
from catalogue.models import Organisation, Proposal
from tests.admin_support import client_for, form_data
from tests.factories import DraftFactory, InitiativeFactory, OrganisationFactory, PartnershipFactory

pytestmark = pytest.mark.django_db

ORGANISATIONS = "/admin/catalogue/organisation/"
PROPOSALS = "/admin/catalogue/proposal/"
OLD_NAME = "Anytown Council"
NEW_WORD = "Zanzibarfix"
NEW_NAME = f"{NEW_WORD} Borough Council"


@pytest.fixture
def council():
    """Public twice over: the lead of one published initiative and a partner in another."""
    council = OrganisationFactory(name=OLD_NAME, slug="anytown-council")
    InitiativeFactory(
        title="Housing repairs online", slug="housing-repairs", lead_organisation=council
    )
    PartnershipFactory(
        initiative=InitiativeFactory(title="Shared care records", slug="shared-care"),
        organisation=council,
        role="funder",
    )
    return council


def change_url(organisation):
    return f"{ORGANISATIONS}{organisation.pk}/change/"


def edit(client, organisation, **changes):
    """GET the change form, change what is given, POST it back as the browser would."""
    page = client.get(change_url(organisation))
    assert page.status_code == 200
    return client.post(change_url(organisation), {**form_data(page), **changes})


def public_outputs():
    """What an anonymous visitor gets wherever the council's name or the new word shows."""
    visitor = Client()
    urls = [
        "/organisations/anytown-council/",
        "/organisations/",
        f"/organisations/?q={NEW_WORD.lower()}",
        "/initiatives/housing-repairs/",
        "/initiatives/shared-care/",
        "/initiatives/",
        f"/initiatives/?q={NEW_WORD.lower()}",
        "/initiatives/?organisation=anytown-council",
        "/initiatives/export.csv",
        "/initiatives/export.json",
        "/api/v1/initiatives/",
        f"/api/v1/initiatives/?q={NEW_WORD.lower()}",
        "/api/v1/initiatives/housing-repairs/",
        "/feeds/initiatives.atom",
        "/initiatives/housing-repairs/cite.bib",
    ]
    outputs = {}
    for url in urls:
        response = visitor.get(url)
        assert response.status_code == 200, url
        body = b"".join(response) if response.streaming else response.content
        outputs[url] = re.sub(rb'nonce="[^"]*"', b"", body)
    return outputs


def found_by_search(word):
    response = Client().get("/initiatives/", {"q": word})
    return sorted(i.title for i in response.context["page_obj"])


def test_an_editors_rename_of_a_public_organisation_is_a_proposal_until_published(
    editor, publisher, council
):
    before = public_outputs()
    assert found_by_search(NEW_WORD) == []
    client = client_for(editor)

    # The Editor's form offers only "Propose these changes", and says why.
    page = client.get(change_url(council))
    assert b'name="_propose"' in page.content
    assert b'name="_save"' not in page.content
    assert "This organisation is public" in page.text

    response = edit(client, council, name=NEW_NAME, country="IE", history_comment="Renamed in May.")
    assert response.status_code == 302, response.content.decode()[:3000]
    proposal = Proposal.objects.get()
    assert response["Location"] == proposal.get_absolute_url()
    assert (proposal.organisation, proposal.initiative) == (council, None)
    assert (proposal.created_by, proposal.comment) == (editor, "Renamed in May.")
    assert proposal.base["fields"]["name"] == OLD_NAME
    assert proposal.proposed["fields"]["name"] == NEW_NAME

    # Nothing public has changed: not the row, not a page, not the search.
    assert Organisation.objects.get(pk=council.pk).name == OLD_NAME
    waiting = public_outputs()
    for url, body in waiting.items():
        assert NEW_WORD.encode() not in body, url
    for url in ("/organisations/anytown-council/", "/initiatives/housing-repairs/"):
        assert waiting[url] == before[url], url
        assert OLD_NAME.encode() in waiting[url], url
    assert found_by_search(NEW_WORD) == []

    # Publishers find it in the queue and on the organisation's form, and review it.
    publisher_client = client_for(publisher)
    queue = publisher_client.get(PROPOSALS, {"state__exact": "open"})
    assert f"Changes to “{OLD_NAME}” proposed by edna" in queue.text
    form = publisher_client.get(change_url(council))
    assert "Proposed changes waiting for a Publisher" in form.text
    assert proposal.get_absolute_url() in form.text
    review = publisher_client.get(proposal.get_absolute_url())
    assert review.status_code == 200
    for text in ("Published now", "Proposed", OLD_NAME, NEW_NAME, "(public)", "Ireland"):
        assert text in review.text, text
    assert 'value="publish"' in review.text

    response = publisher_client.post(
        proposal.get_absolute_url(), {"step": "publish", "comment": "Checked the notice."}
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.state, proposal.decided_by) == (Proposal.State.PUBLISHED, publisher)
    assert proposal.decision_comment == "Checked the notice."
    live = Organisation.objects.get(pk=council.pk)
    assert (live.name, live.country.code) == (NEW_NAME, "IE")

    # The new name, everywhere the old one was; search finds both records by it.
    published = public_outputs()
    for url, body in before.items():
        if OLD_NAME.encode() in body:
            assert NEW_WORD.encode() in published[url], url
            assert OLD_NAME.encode() not in published[url], url
    assert found_by_search(NEW_WORD) == ["Housing repairs online", "Shared care records"]
    assert found_by_search("Anytown") == []
    # The organisation's history (the admin's log) says who proposed and who published.
    history = publisher_client.get(f"{ORGANISATIONS}{council.pk}/history/")
    assert f"Proposed changes (proposal {proposal.pk})" in history.text
    assert "Published changes proposed by edna" in history.text
    assert list(
        LogEntry.objects.filter(object_id=str(council.pk))
        .order_by("pk")
        .values_list("user__username", flat=True)
    ) == ["edna", "pablo"]


def test_an_organisation_only_drafts_name_is_edited_directly_until_it_is_public(editor, publisher):
    draft = DraftFactory(title="Quiet pilot")
    body = draft.lead_organisation
    client = client_for(editor)
    page = client.get(change_url(body))
    assert b'name="_save"' in page.content
    assert b'name="_propose"' not in page.content

    response = edit(client, body, name="Renamed directly")
    assert response.status_code == 302
    assert response["Location"] == ORGANISATIONS
    assert Organisation.objects.get(pk=body.pk).name == "Renamed directly"
    assert not Proposal.objects.exists()

    # Once a Publisher publishes the draft, the same edit is a proposal.
    workflow.apply(draft, "publish", publisher)
    response = edit(client, body, name=f"Renamed {NEW_WORD}")
    assert response.status_code == 302
    assert Proposal.objects.get().organisation == body
    assert Organisation.objects.get(pk=body.pk).name == "Renamed directly"
    assert "Renamed directly" in Client().get(body.get_absolute_url()).text


def test_a_public_partner_is_public_too(editor):
    partner = OrganisationFactory(name="Partner Only Ltd")
    PartnershipFactory(initiative=InitiativeFactory(), organisation=partner)
    PartnershipFactory(initiative=DraftFactory(), organisation=partner)
    client = client_for(editor)
    # A proposal is validated as a save would be.
    refused = edit(client, partner, name="")
    assert refused.status_code == 200
    assert "This field is required." in refused.text
    assert not Proposal.objects.exists()

    assert edit(client, partner, name=NEW_NAME).status_code == 302
    assert Organisation.objects.get(pk=partner.pk).name == "Partner Only Ltd"
    assert Proposal.objects.get().organisation == partner


def test_a_publisher_may_save_a_public_organisation_directly_or_propose(publisher, council):
    client = client_for(publisher)
    page = client.get(change_url(council))
    assert b'name="_save"' in page.content
    assert b'name="_propose"' in page.content

    response = edit(client, council, name="Proposed by a publisher", _propose="1")
    assert response.status_code == 302
    assert Proposal.objects.get().created_by == publisher
    assert Organisation.objects.get(pk=council.pk).name == OLD_NAME

    response = edit(client, council, name=NEW_NAME, _save="Save")
    assert response.status_code == 302
    assert Organisation.objects.get(pk=council.pk).name == NEW_NAME
    assert found_by_search(NEW_WORD) == ["Housing repairs online", "Shared care records"]
    assert NEW_NAME in Client().get("/initiatives/housing-repairs/").text


def test_an_editor_cannot_change_or_delete_a_public_organisation_by_another_path(
    editor, publisher, council
):
    client = client_for(editor)
    # Every button a Publisher's form has, and the initiative form's "change" popup, crafted
    # from the form a Publisher gets: each only ever makes a proposal.
    offered = form_data(client_for(publisher).get(change_url(council)))
    for extra in ({"_save": "Save"}, {"_continue": "1"}, {"_addanother": "1"}):
        response = client.post(change_url(council), {**offered, "name": NEW_NAME, **extra})
        assert response.status_code == 302
        assert Organisation.objects.get(pk=council.pk).name == OLD_NAME
    popup = client.post(
        change_url(council) + "?_popup=1", {**offered, "name": NEW_NAME, "_popup": "1"}
    )
    assert popup.status_code == 302
    assert NEW_NAME not in popup.content.decode()
    assert Organisation.objects.get(pk=council.pk).name == OLD_NAME
    assert Proposal.objects.filter(organisation=council, state="open").count() == 4

    # Deleting: refused to an Editor, by the page and by the list's action; from a
    # Publisher too, it is protected by the records naming it.
    delete_url = f"{ORGANISATIONS}{council.pk}/delete/"
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    for user in (editor, publisher):
        client_for(user).post(
            ORGANISATIONS,
            {"action": "delete_selected", "_selected_action": [council.pk], "post": "yes"},
        )
    assert client_for(publisher).post(delete_url, {"post": "yes"}).status_code == 200
    assert Organisation.objects.filter(pk=council.pk).exists()

    # Organisations keep no versions to restore: History is the admin's log alone.
    history = client.get(f"{ORGANISATIONS}{council.pk}/history/")
    assert history.status_code == 200
    assert b'name="_save"' not in history.content


def test_an_editor_cannot_publish_an_organisation_proposal_but_can_discard_their_own(
    editor, publisher, council
):
    client = client_for(editor)
    assert edit(client, council, name=NEW_NAME).status_code == 302
    proposal = Proposal.objects.get()
    page = client.get(proposal.get_absolute_url())
    assert page.status_code == 200
    assert 'value="publish"' not in page.text
    response = client.post(proposal.get_absolute_url(), {"step": "publish"})
    assert response.status_code == 400
    assert "Only a Publisher can publish proposed changes." in response.text
    assert Organisation.objects.get(pk=council.pk).name == OLD_NAME

    assert client.post(proposal.get_absolute_url(), {"step": "discard"}).status_code == 302
    assert Proposal.objects.get().state == Proposal.State.DISCARDED
    response = client_for(publisher).post(proposal.get_absolute_url(), {"step": "publish"})
    assert response.status_code == 400
    assert Organisation.objects.get(pk=council.pk).name == OLD_NAME


def test_organisation_proposals_publish_in_turn_unless_they_change_the_same_thing(
    editor, publisher, council
):
    client = client_for(editor)
    assert edit(client, council, name="First name").status_code == 302
    assert edit(client, council, website="https://anytown.example/").status_code == 302
    assert edit(client, council, name="Third name").status_code == 302
    first, second, third = Proposal.objects.order_by("pk")

    publisher_client = client_for(publisher)
    for proposal in (first, second):
        assert (
            publisher_client.post(proposal.get_absolute_url(), {"step": "publish"}).status_code
            == 302
        )
    live = Organisation.objects.get(pk=council.pk)
    assert (live.name, live.website) == ("First name", "https://anytown.example/")
    response = publisher_client.post(third.get_absolute_url(), {"step": "publish"})
    assert response.status_code == 400
    assert "since this proposal was made: Name" in response.text
    assert Organisation.objects.get(pk=council.pk).name == "First name"
