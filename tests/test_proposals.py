"""Changes to a published record as a reviewed proposal: an Editor (or a Publisher) edits the
live record in its change form; the public keeps seeing the live version everywhere until a
Publisher publishes the proposal, which then shows everywhere at once."""

import re

import pytest
from django.test import Client

from catalogue.models import HistoryEntry, Initiative, Proposal, Status, Theme
from tests.admin_support import ADMIN, client_for, form_data, member_of
from tests.factories import InitiativeFactory, OrganisationFactory, PartnershipFactory, term

pytestmark = pytest.mark.django_db

NEW_WORD = "Zanzibarfix"


@pytest.fixture
def live():
    initiative = InitiativeFactory(
        title="Housing repairs online", slug="housing-repairs", themes=["cloud"]
    )
    PartnershipFactory(initiative=initiative, organisation=OrganisationFactory(name="Old Partner"))
    return initiative


def public_outputs(slug):
    """Every public output a record appears in, as an anonymous visitor gets it."""
    visitor = Client()
    urls = [
        f"/initiatives/{slug}/",
        "/initiatives/",
        f"/initiatives/?q={NEW_WORD.lower()}",
        "/initiatives/?theme=open-data",
        "/initiatives/export.csv",
        "/initiatives/export.json",
        "/api/v1/initiatives/",
        f"/api/v1/initiatives/{slug}/",
        "/api/v1/themes/open-data/",
        "/feeds/initiatives.atom",
        "/sitemap-initiatives.xml",
        f"/initiatives/{slug}/cite.bib",
        "/",
        "/insights/",
    ]
    outputs = {}
    for url in urls:
        response = visitor.get(url)
        assert response.status_code == 200, url
        body = b"".join(response) if response.streaming else response.content
        outputs[url] = re.sub(rb'nonce="[^"]*"', b"", body)  # a new nonce per response
    return outputs


def propose(client, initiative, **changes):
    url = f"{ADMIN}{initiative.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = {**form_data(page), **changes, "_propose": "1"}
    return client.post(url, data)


def proposal_changes(initiative):
    """A title, a tag, a removed partner and a metric citing a source added in the same form."""
    return {
        "title": f"Housing repairs online ({NEW_WORD})",
        "themes": [term(Theme, "cloud").pk, term(Theme, "open-data").pk],
        "partnerships-0-DELETE": "on",
        "sources-1-title": "Council annual report",
        "sources-1-url": "https://example.org/report",
        "metrics-0-label": "Repair waiting time",
        "metrics-0-value": "30",
        "metrics-0-unit": "%",
        "metrics-0-direction": "decrease",
        "metrics-0-cites": "#2",
        "quotes-0-text": "Repair waiting times fell by 30%.",
        "quotes-0-locator": "page 2",
        "quotes-0-source_choice": "#2",
        "metrics-0-passage": "#1",
        "history_comment": "Adds the report's figure.",
    }


def test_a_proposal_is_invisible_until_published_then_visible_everywhere_at_once(
    editor, publisher, live
):
    before = public_outputs(live.slug)
    # Twice: what is served from a cache (on PostgreSQL) is what is served fresh.
    assert public_outputs(live.slug).keys() == before.keys()

    response = propose(client_for(editor), live, **proposal_changes(live))
    assert response.status_code == 302, response.content.decode()[:3000]
    proposal = Proposal.objects.get()
    assert response["Location"] == proposal.get_absolute_url()
    assert proposal.created_by == editor
    assert proposal.comment == "Adds the report's figure."

    # Nothing public has changed, from the cache or not.
    live.refresh_from_db()
    assert live.title == "Housing repairs online"
    assert live.metrics.count() == 0
    assert live.partnerships.count() == 1
    after_proposal = public_outputs(live.slug)
    for url, body in after_proposal.items():
        assert NEW_WORD.encode() not in body, url
        assert b"Repair waiting time" not in body, url
    assert after_proposal["/sitemap-initiatives.xml"] == before["/sitemap-initiatives.xml"]
    for url in (f"/initiatives/{live.slug}/", "/api/v1/themes/open-data/", "/"):
        assert after_proposal[url] == before[url], url

    # The Publisher reviews the differences, side by side, and publishes in one step.
    publisher_client = client_for(publisher)
    review = publisher_client.get(proposal.get_absolute_url())
    assert review.status_code == 200
    for text in ("Published now", "Proposed", NEW_WORD, "Old Partner", "Council annual report"):
        assert text in review.text, text
    assert "Repair waiting time: 30% decrease" in review.text
    response = publisher_client.post(
        proposal.get_absolute_url(), {"step": "publish", "comment": "Checked the report."}
    )
    assert response.status_code == 302

    live.refresh_from_db()
    assert live.status == Status.PUBLISHED
    assert NEW_WORD in live.title
    assert live.updated_by == publisher
    assert sorted(live.themes.values_list("slug", flat=True)) == ["cloud", "open-data"]
    assert live.partnerships.count() == 0
    metric = live.metrics.get()
    assert metric.source.title == "Council annual report"
    proposal.refresh_from_db()
    assert (proposal.state, proposal.decided_by) == (Proposal.State.PUBLISHED, publisher)

    published = public_outputs(live.slug)
    counts = ("/sitemap-initiatives.xml", "/", "/insights/", "/api/v1/themes/open-data/")
    for url in before:
        if url not in counts:
            assert NEW_WORD.encode() in published[url], url
    # The theme's count moved with the tag.
    assert published["/api/v1/themes/open-data/"] != before["/api/v1/themes/open-data/"]
    assert b"Repair waiting time" in published[f"/initiatives/{live.slug}/"]

    # History says who did what, in words, with the comments typed.
    history = publisher_client.get(f"{ADMIN}{live.pk}/history/")
    assert "Changes proposed by edna" in history.text
    assert "Published by pablo: changes proposed by edna" in history.text
    assert "Checked the report." in history.text
    assert "Adds the report&#x27;s figure." in history.text
    entry = HistoryEntry.objects.get(action="proposal-published")
    assert entry.proposal == proposal


def test_a_proposal_must_meet_the_publishing_rules(editor, live):
    response = propose(client_for(editor), live, summary="", themes=[])
    assert response.status_code == 200
    assert "This field is required." in response.text  # the summary
    assert "Choose at least one theme before publishing." in response.text
    assert not Proposal.objects.exists()
    assert Initiative.objects.get(pk=live.pk).summary


def test_proposing_nothing_says_so(editor, live):
    client = client_for(editor)
    response = propose(client, live)
    assert response.status_code == 302
    assert "You changed nothing" in client.get(response["Location"]).text
    assert not Proposal.objects.exists()


def test_an_editor_cannot_publish_a_proposal_but_can_withdraw_their_own(editor, publisher, live):
    client = client_for(editor)
    assert propose(client, live, title="Editor's title").status_code == 302
    proposal = Proposal.objects.get()
    page = client.get(proposal.get_absolute_url())
    assert page.status_code == 200
    assert 'value="publish"' not in page.text
    response = client.post(proposal.get_absolute_url(), {"step": "publish"})
    assert response.status_code == 400
    assert "Only a Publisher can publish proposed changes." in response.text
    assert Initiative.objects.get(pk=live.pk).title == "Housing repairs online"

    other = client_for(member_of("Editors", "other"))
    response = other.post(proposal.get_absolute_url(), {"step": "discard"})
    assert response.status_code == 400
    assert Proposal.objects.get().is_open

    assert client.post(proposal.get_absolute_url(), {"step": "discard"}).status_code == 302
    assert Proposal.objects.get().state == Proposal.State.DISCARDED
    response = client_for(publisher).post(proposal.get_absolute_url(), {"step": "publish"})
    assert response.status_code == 400
    assert "already been discarded" in response.text


def test_two_proposals_publish_in_turn_unless_they_change_the_same_thing(editor, publisher, live):
    editor_client = client_for(editor)
    assert propose(editor_client, live, title="Title from the first").status_code == 302
    assert propose(editor_client, live, summary="Summary from the second.").status_code == 302
    assert propose(editor_client, live, title="Title from the third").status_code == 302
    first, second, third = Proposal.objects.order_by("pk")
    # The record's change form lists what waits for a Publisher.
    form = client_for(publisher).get(f"{ADMIN}{live.pk}/change/")
    assert form.text.count("Changes proposed by edna") == 3

    client = client_for(publisher)
    assert client.post(first.get_absolute_url(), {"step": "publish"}).status_code == 302
    assert client.post(second.get_absolute_url(), {"step": "publish"}).status_code == 302
    live.refresh_from_db()
    assert (live.title, live.summary) == ("Title from the first", "Summary from the second.")

    review = client.get(third.get_absolute_url())
    assert "cannot be published as it is" in review.text
    response = client.post(third.get_absolute_url(), {"step": "publish"})
    assert response.status_code == 400
    assert "Changed in the published record since this proposal was made: Title" in response.text
    assert Initiative.objects.get(pk=live.pk).title == "Title from the first"


def test_a_publisher_may_save_directly_or_propose(publisher, live):
    client = client_for(publisher)
    page = client.get(f"{ADMIN}{live.pk}/change/")
    assert b'name="_save"' in page.content
    assert b'name="_propose"' in page.content
    assert propose(client, live, title="Proposed by a publisher").status_code == 302
    assert Initiative.objects.get(pk=live.pk).title == "Housing repairs online"
    assert Proposal.objects.get().created_by == publisher


def test_a_proposal_on_a_record_unpublished_since_cannot_be_published(editor, publisher, live):
    assert propose(client_for(editor), live, title="Later").status_code == 302
    client = client_for(publisher)
    url = f"{ADMIN}{live.pk}/change/"
    assert (
        client.post(url, {**form_data(client.get(url)), "_transition": "unpublish"}).status_code
        == 302
    )
    response = client.post(Proposal.objects.get().get_absolute_url(), {"step": "publish"})
    assert response.status_code == 400
    assert "not published" in response.text
    assert Initiative.objects.get(pk=live.pk).title == "Housing repairs online"


def test_the_review_queue_lists_open_proposals(editor, publisher, live):
    assert propose(client_for(editor), live, title="Queued").status_code == 302
    queue = client_for(publisher).get("/admin/catalogue/proposal/?state__exact=open")
    assert queue.status_code == 200
    assert "Housing repairs online" in queue.text
    assert client_for(editor).get("/admin/catalogue/proposal/").status_code == 200
    assert Client().get("/admin/catalogue/proposal/").status_code == 302  # to sign in
