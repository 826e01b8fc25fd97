"""End-to-end journeys through the live site, as the public take them, in Chromium.

Each test is one person's path: a civil servant searching and browsing (with and without
JavaScript), a researcher narrowing and sorting the list, a keyboard-only user, and the list
and case-study pages at 320 CSS pixels wide (WCAG 1.4.10 reflow). What the pages show is
checked against the database, and every page visited must log no console error: CSP
violations and script errors show up there.
"""

import math
import re

import pytest
from playwright.sync_api import expect

from catalogue.models import Initiative, Metric, Organisation, Partnership, Source, Theme
from tests.browser.journeys.support import (
    expect_query,
    expect_result_count,
    facet,
    facet_counts,
    newest_first,
    page_through,
    published,
    shown_titles,
    titles,
    watch,
)

# GOV.UK's focus colour ($govuk-focus-colour, #ffdd00): every focus state uses it.
FOCUS_YELLOW = "rgb(255, 221, 0)"
# A real place name, and a word longer than a 320px screen is wide at every heading size.
LONG_WORD = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"


# -- Journeys -------------------------------------------------------------------------------


def civil_servant_journey(page, site, settings):
    """From the home page: search, read a case study, browse its theme page by page."""
    page.goto(site + "/")
    page.get_by_role("searchbox", name="Search case studies").fill("housing")
    page.get_by_role("button", name="Search", exact=True).click()

    expect_query(page, q="housing")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search results for “housing”")
    matching = published().filter(title__icontains="housing")
    assert matching.exists()
    for title in titles(matching):  # a word in the title ranks first
        assert title in shown_titles(page)[: matching.count()]

    hackney = published().get(slug="digitising-housing-services-in-hackney")
    page.get_by_role("link", name=hackney.title).click()
    expect(page).to_have_url(site + hackney.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text(hackney.title)

    # Smaller pages than the seed catalogue needs, so its themes run to several pages.
    settings.CATALOGUE_PAGE_SIZE = 3
    theme = hackney.themes.get()
    page.get_by_role("complementary").get_by_role("link", name=theme.name).click()

    expect_query(page, theme=theme.slug)
    in_theme = newest_first(published().filter(themes=theme))
    expect_result_count(page, in_theme.count())
    expect(page.get_by_role("checkbox", name=re.compile(f"^{theme.name}"))).to_be_checked()
    expect(page.locator("#results .app-chip")).to_have_text([f"Remove filter: Theme: {theme.name}"])

    seen, pages = page_through(page)
    assert seen == titles(in_theme)
    assert pages == math.ceil(in_theme.count() / 3) > 2
    # And back: each page keeps the filter.
    page.get_by_role("link", name="Previous page").click()
    expect_query(page, theme=theme.slug, page=str(pages - 1))
    page.get_by_role("link", name="Page 1", exact=True).click()
    expect_query(page, theme=theme.slug, page="1")
    assert shown_titles(page) == titles(in_theme)[:3]


def test_civil_servant_searches_reads_and_browses_a_theme(page, site, settings):
    civil_servant_journey(page, site, settings)
    assert page.console_errors == []


def test_civil_servant_journey_works_without_javascript(browser, site, settings):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    try:
        page = watch(context.new_page())
        civil_servant_journey(page, site, settings)
        # The journey really ran without scripts: base.html's inline script never ran.
        assert "js-enabled" not in page.locator("body").get_attribute("class")
        assert page.console_errors == []
    finally:
        context.close()


def test_researcher_combines_facets_removes_one_and_sorts(page, site):
    page.goto(site + "/initiatives/")
    expect_result_count(page, published().count())

    facet(page, "Theme").get_by_role("checkbox", name=re.compile("^Digital services")).check()
    facet(page, "Stage").get_by_role("checkbox", name=re.compile("^Implemented")).check()
    page.get_by_role("button", name="Apply filters").first.click()

    expect_query(page, theme="digital-services", stage="implemented", sort="-published")
    digital = published().filter(themes__slug="digital-services")
    both = newest_first(digital.filter(stage="implemented"))
    assert 0 < both.count() < digital.count() < published().count()
    expect_result_count(page, both.count())
    assert shown_titles(page) == titles(both)
    expect(page.locator("#results .app-chip")).to_have_text(
        ["Remove filter: Theme: Digital services", "Remove filter: Stage: Implemented"]
    )
    # Each facet counts what its options would give with the *other* facet's filter.
    assert facet_counts(page, "Stage") == {
        label: digital.filter(stage=value).count() for value, label in Initiative.Stage.choices
    }
    assert facet_counts(page, "Theme") == {
        theme.name: published().filter(stage="implemented", themes=theme).count()
        for theme in Theme.objects.all()
    }

    page.get_by_role("link", name="Remove filter: Stage: Implemented").click()

    expect_query(page, theme="digital-services", sort="-published")
    expect_result_count(page, digital.count())
    newest = titles(newest_first(digital))
    assert shown_titles(page) == newest
    expect(page.get_by_role("checkbox", name=re.compile("^Implemented"))).not_to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile("^Digital services"))).to_be_checked()
    expect(page.locator("#results .app-chip")).to_have_text(
        ["Remove filter: Theme: Digital services"]
    )
    assert facet_counts(page, "Theme") == {
        theme.name: published().filter(themes=theme).count() for theme in Theme.objects.all()
    }

    page.get_by_label("Sort by").select_option(label="Title A to Z")
    page.get_by_role("button", name="Sort", exact=True).click()

    expect_query(page, theme="digital-services", sort="title")
    expect_result_count(page, digital.count())  # the same case studies...
    a_to_z = titles(digital.order_by("title", "pk"))
    assert shown_titles(page) == a_to_z  # ...in another order
    assert a_to_z != newest
    expect(page.get_by_label("Sort by")).to_have_value("title")
    assert page.console_errors == []


# -- Keyboard only ---------------------------------------------------------------------------

# The focused element's look with focus and without (blurred for a moment, then focused
# again), from the computed styles that carry a focus state: the element's, its
# pseudo-elements', its first child's (a details summary's text) and its label's (a GOV.UK
# checkbox draws its box and focus ring on the label's ::before).
FOCUS_STYLES = """() => {
  const element = document.activeElement;
  const properties = ['outlineStyle', 'outlineColor', 'outlineWidth', 'boxShadow',
                      'backgroundColor', 'color', 'textDecorationLine', 'borderColor'];
  const style = (node, pseudo) => node
    ? properties.map(name => getComputedStyle(node, pseudo)[name]).join(' ') : '';
  const label = element.labels && element.labels[0];
  const look = () => [
    style(element), style(element, '::before'), style(element, '::after'),
    style(element.firstElementChild), style(label), style(label, '::before'),
  ].join(' | ');
  const focused = look();
  element.blur();
  const unfocused = look();
  element.focus();
  const name = `${element.tagName.toLowerCase()}#${element.id} ` +
               `“${element.textContent.trim().slice(0, 40)}”`;
  return {focused, unfocused, name, refocused: element === document.activeElement};
}"""


def assert_focus_visible(page):
    """The focused element looks different from when it is not focused, in GOV.UK yellow."""
    look = page.evaluate(FOCUS_STYLES)
    assert look["refocused"], look["name"]
    assert look["focused"] != look["unfocused"], f"no visible focus on {look['name']}"
    assert FOCUS_YELLOW in look["focused"], f"focus on {look['name']} is not GOV.UK yellow"


def tab_to(page, selector, limit=150):
    """Press Tab until `selector` has focus, checking focus is visible at every stop."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert_focus_visible(page)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached in {limit} presses of Tab")


def test_keyboard_user_filters_and_pages_through_the_list(page, site, settings):
    settings.CATALOGUE_PAGE_SIZE = 3
    page.goto(site + "/initiatives/")

    tab_to(page, ".govuk-skip-link")
    tab_to(page, "#theme-digital-services")
    page.keyboard.press("Space")
    expect(page.locator("#theme-digital-services")).to_be_checked()
    # Procurement is one of the themes behind "Show all 12 options".
    expect(page.locator("#theme-procurement")).to_be_hidden()
    tab_to(page, ".app-facet summary")
    page.keyboard.press("Enter")
    tab_to(page, "#theme-procurement")
    page.keyboard.press("Space")
    expect(page.locator("#theme-procurement")).to_be_checked()
    # Past the organisation facet's own "Find" button, to the panel's last "Apply filters".
    tab_to(page, ".moj-filter button:not(.app-facet-search__button)")
    expect(page.locator(":focus")).to_have_text("Apply filters")
    page.keyboard.press("Space")

    themes = ["digital-services", "procurement"]
    expect_query(page, theme=themes, sort="-published")
    either = newest_first(published().filter(themes__slug__in=themes).distinct())
    expect_result_count(page, either.count())
    assert shown_titles(page) == titles(either)[:3]

    tab_to(page, "a[rel=next]")
    page.keyboard.press("Enter")
    expect_query(page, theme=themes, sort="-published", page="2")
    assert shown_titles(page) == titles(either)[3:6]
    tab_to(page, "a[rel=prev]")
    page.keyboard.press("Enter")
    expect_query(page, theme=themes, sort="-published", page="1")
    assert shown_titles(page) == titles(either)[:3]
    assert page.console_errors == []


# -- Reflow ----------------------------------------------------------------------------------

# What sticks out past the right edge of the viewport (boxes, or text overflowing its box),
# to say why a page scrolls sideways. Visually hidden text is clipped and wide tables scroll
# inside their own region, so neither counts.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const parent = text.parentElement;
    const skipped = parent.closest('.govuk-visually-hidden, .app-table-scroll, script');
    if (!text.textContent.trim() || skipped) continue;
    const range = document.createRange();
    range.selectNodeContents(text);
    const right = Math.max(range.getBoundingClientRect().right,
                           parent.getBoundingClientRect().right);
    if (right > width + 0.5) {
      found.push(`${parent.tagName.toLowerCase()}.${[...parent.classList].join('.')} ` +
                 `to ${Math.round(right)}px: ${text.textContent.trim().slice(0, 50)}`);
    }
  }
  return found.slice(0, 5);
}"""


def assert_no_horizontal_scrolling(page):
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width, (
        f"{page.url} scrolls sideways at {client_width}px ({scroll_width}px wide): "
        f"{page.evaluate(OVERFLOWING)}"
    )


@pytest.fixture
def long_record(site):
    """A published case study whose title, organisation, metric and source are very long."""
    lead = Organisation.objects.create(
        name=f"Cyngor Cymuned {LONG_WORD}",
        slug="cyngor-cymuned-llanfairpwll",
        kind=Organisation.Kind.LOCAL_AUTHORITY,
        country="GB",
    )
    initiative = Initiative.objects.create(
        title=(
            f"Bilingual digital council services in {LONG_WORD}: a community-council-led, "
            "co-designed, accessibility-first redesign of every public-facing transaction"
        ),
        slug="bilingual-digital-council-services-in-llanfairpwll",
        summary=f"{LONG_WORD} community council moved every transaction online, in Welsh too.",
        lead_organisation=lead,
        status=Initiative.Status.PUBLISHED,
        start_year=2021,
        website=f"https://example.org/{LONG_WORD.lower()}/digital-services-redesign",
    )
    initiative.themes.set(Theme.objects.filter(slug__in=["digital-services", "partnerships"]))
    Partnership.objects.create(initiative=initiative, organisation=lead, role="delivery-partner")
    source = Source.objects.create(
        initiative=initiative,
        title=f"Evaluation of digital services in {LONG_WORD}",
        url=f"https://example.org/reports/{LONG_WORD.lower()}-digital-services-evaluation.pdf",
    )
    Metric.objects.create(
        initiative=initiative,
        label=f"Transactions completed online in {LONG_WORD}",
        value=40,
        unit="%",
        direction="increase",
        baseline="Paper forms and visits to the council office",
        period="two years",
        source=source,
    )
    return initiative


def test_list_and_case_study_pages_reflow_at_320_css_pixels(browser, site, long_record):
    context = browser.new_context(viewport={"width": 320, "height": 640}, locale="en-GB")
    context.set_default_timeout(10_000)
    try:
        page = watch(context.new_page())
        lists = [
            "/",
            "/initiatives/",
            "/initiatives/?theme=digital-services&stage=scaled&sort=title",
            "/initiatives/?q=housing",
            f"/initiatives/?q={LONG_WORD}",
            f"/organisations/{long_record.lead_organisation.slug}/",
        ]
        for path in lists:
            page.goto(site + path)
            assert_no_horizontal_scrolling(page)
        expect(page.get_by_role("link", name=long_record.title).first).to_be_visible()
        for initiative in published():
            page.goto(site + initiative.get_absolute_url())
            expect(page.get_by_role("heading", level=1)).to_have_text(initiative.title)
            assert_no_horizontal_scrolling(page)
        assert page.console_errors == []
    finally:
        context.close()
