"""Search behaves the same on PostgreSQL (tsvector) and SQLite (the fallback) for what
visitors type: words, "phrases", -exclusions and or."""

import pytest
from django.http import QueryDict

from catalogue.filters import InitiativeFilter
from catalogue.models import Initiative
from catalogue.search import QueryWord, parse
from tests.factories import InitiativeFactory, OrganisationFactory, PartnershipFactory

pytestmark = pytest.mark.django_db


def found(query, **extra):
    data = QueryDict(mutable=True)
    data.update({"q": query, **extra})
    filterset = InitiativeFilter(data, queryset=Initiative.objects.published())
    return list(filterset.qs)


def test_parse_websearch_syntax():
    assert parse('chatbot "housing repairs" -pilot or council') == [
        [QueryWord("chatbot"), QueryWord("housing repairs"), QueryWord("pilot", negated=True)],
        [QueryWord("council")],
    ]
    assert parse("   ") == []
    assert parse('"unclosed phrase') == [[QueryWord("unclosed phrase")]]


def test_title_match_ranks_above_body_match():
    body = InitiativeFactory(
        title="Council services review", summary="A review.", approach="Added a chatbot."
    )
    summary = InitiativeFactory(title="Front door", summary="A chatbot answers residents.")
    title = InitiativeFactory(title="Council chatbot", summary="Answers residents' questions.")
    InitiativeFactory(title="Unrelated", summary="Nothing to see.")
    assert found("chatbot") == [title, summary, body]


def test_relevance_is_the_default_only_when_searching():
    filterset = InitiativeFilter(QueryDict("q=chatbot"), queryset=Initiative.objects.all())
    assert filterset.current_sort == "relevance"
    filterset = InitiativeFilter(QueryDict(""), queryset=Initiative.objects.all())
    assert filterset.current_sort == "-published"
    assert "relevance" not in dict(filterset.sort_choices())


def test_an_explicit_sort_overrides_relevance():
    InitiativeFactory(title="Zebra chatbot")
    InitiativeFactory(title="Aardvark", summary="Uses a chatbot.")
    assert [i.title for i in found("chatbot", sort="title")] == ["Aardvark", "Zebra chatbot"]


def test_websearch_phrases_exclusions_and_or():
    repairs = InitiativeFactory(title="Housing repairs online")
    allocations = InitiativeFactory(title="Housing allocations", summary="Repairs are elsewhere.")
    chatbot = InitiativeFactory(title="Benefits chatbot")
    assert found('"housing repairs"') == [repairs]
    assert set(found("housing -repairs")) == set()  # allocations mentions repairs too
    assert found("housing -online") == [allocations]
    assert set(found("chatbot or repairs")) == {chatbot, repairs, allocations}


def test_simple_words_match_any_case_in_every_searched_field():
    initiative = InitiativeFactory(
        title="Digital front door",
        summary="Residents apply online.",
        lessons="Start with the **housing** team.",
        lead_organisation=OrganisationFactory(name="London Borough of Hackney"),
    )
    PartnershipFactory(initiative=initiative, organisation__name="Acme Software")
    InitiativeFactory(title="Something else")
    for word in ("digital", "RESIDENTS", "housing", "hackney", "acme"):
        assert found(word) == [initiative], word


def test_search_stays_current_after_edits():
    initiative = InitiativeFactory(title="Waste collection routes", summary="Bins.")
    assert found("waste") == [initiative]

    initiative.title = "Recycling collection routes"
    initiative.save()
    assert found("waste") == []
    assert found("recycling") == [initiative]

    partner = OrganisationFactory(name="Binlytics")
    partnership = PartnershipFactory(initiative=initiative, organisation=partner)
    assert found("binlytics") == [initiative]

    partner.name = "Routewise"
    partner.save()
    assert found("binlytics") == []
    assert found("routewise") == [initiative]

    lead = initiative.lead_organisation
    lead.name = "Northshire County Council"
    lead.save()
    assert found("northshire") == [initiative]

    partnership.delete()
    assert found("routewise") == []


def test_search_never_shows_drafts():
    InitiativeFactory(title="Published chatbot")
    InitiativeFactory(title="Draft chatbot", status="draft", published_at=None)
    assert [i.title for i in found("chatbot")] == ["Published chatbot"]


def test_highlighted_summaries_are_escaped(client):
    InitiativeFactory(title="Chatbot", summary='A <script>alert("x")</script> chatbot & more.')
    response = client.get("/initiatives/", {"q": "chatbot"})
    html = response.text
    assert "<mark>chatbot</mark>" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


def test_search_page_title_and_count(client):
    InitiativeFactory(title="Housing chatbot")
    response = client.get("/initiatives/", {"q": "housing"})
    assert "<title>Search results for housing (1)" in response.text


@pytest.mark.parametrize(
    "q",
    ['"', "-", "or", "the", "!!", "&|:*", "a:* & !b", "'", "\\", '-"', "or or or", "é ü 漢字"],
)
def test_odd_search_text_never_fails(client, q):
    InitiativeFactory(title="Housing chatbot")
    response = client.get("/initiatives/", {"q": q})
    assert response.status_code == 200
