"""End-to-end journeys through the live site, as real users take them, in Chromium.

Each test is one person's path: a civil servant searching and browsing (with and without
JavaScript), a researcher narrowing and sorting the list, an editor and a publisher getting a
new case study onto the public site, a keyboard-only user, and the list and case-study pages
at 320 CSS pixels wide (WCAG 1.4.10 reflow). What the pages show is checked against the
database, and every page visited must log no console error: CSP violations and script
errors show up there.
"""

import importlib
import math
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import expect

from catalogue.models import Initiative, Metric, Organisation, Partnership, Source, Theme

PASSWORD = "correct-horse-battery-staple"
# GOV.UK's focus colour ($govuk-focus-colour, #ffdd00): every focus state uses it.
FOCUS_YELLOW = "rgb(255, 221, 0)"
# A real place name, and a word longer than a 320px screen is wide at every heading size.
LONG_WORD = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"


# -- Pages that record their console errors ------------------------------------------------


def watch(page):
    """Record the page's console errors and uncaught exceptions, each with its page's URL.

    conftest's page.console_errors, plus uncaught exceptions (not console messages in
    Playwright) and where each happened, for any page of any context.
    """
    errors = []
    page.on(
        "console",
        lambda message: message.type == "error" and errors.append(f"{page.url}: {message.text}"),
    )
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.console_errors = errors
    return page


@pytest.fixture
def page(page):
    """conftest's page, watched as above."""
    return watch(page)


# -- What the pages show -------------------------------------------------------------------


def published():
    return Initiative.objects.published()


def titles(queryset):
    return list(queryset.values_list("title", flat=True))


def newest_first(queryset):
    """The list's default order ("Newest published")."""
    return queryset.order_by("-published_at", "title", "pk")


def shown_titles(page):
    return page.locator(".app-result h2 a, .app-result h3 a").all_text_contents()


def case_studies(count):
    return f"{count} case stud{'y' if count == 1 else 'ies'}"


def expect_result_count(page, count):
    expect(page.locator("#result-count")).to_have_text(case_studies(count))


def facet(page, name):
    """One facet's fieldset (its legend may add "(1 selected)")."""
    return page.get_by_role("group", name=re.compile(rf"^{name}\b"))


def facet_counts(page, name):
    """{option label: the count shown beside it} for one facet's checkboxes."""
    counts = {}
    for label in facet(page, name).locator(".govuk-checkboxes__label").all_text_contents():
        name, count = re.fullmatch(r"\s*(.+?)\s+\((\d+) results?\)\s*", label).groups()
        counts[name] = int(count)
    return counts


def query(url):
    """A URL's query parameters, blank ones aside: a form submits its empty fields too."""
    return parse_qs(urlsplit(url).query)


def expect_query(page, /, **expected):
    """Wait for the page at the URL with (exactly) these non-blank parameters."""
    expected = {name: [v] if isinstance(v, str) else v for name, v in expected.items()}
    page.wait_for_url(lambda url: urlsplit(url).path == "/initiatives/" and query(url) == expected)


def page_through(page):
    """Follow "Next" to the last page: every title shown, in order, and the page count."""
    seen = shown_titles(page)
    pages = 1
    while (next_link := page.get_by_role("link", name="Next page")).count():
        next_link.click()
        pages += 1
        expect(page.locator(".govuk-pagination__item--current")).to_have_text(str(pages))
        expect(page).to_have_title(re.compile(rf", page {pages} \u2013 "))
        seen += shown_titles(page)
    return seen, pages


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


# -- Editors and publishers ----------------------------------------------------------------


def staff_member(group_name, username):
    """A staff user in one of the workflow's groups.

    Migrations 0005 and 0012 create the groups and their permissions, but browser tests
    flush the database after each test, so they are made again from the migrations' own
    lists when missing.
    """
    groups = importlib.import_module("catalogue.migrations.0005_editor_and_publisher_groups")
    quotes = importlib.import_module(
        "catalogue.migrations.0012_quote_permissions_outcome_none_reported_version_triggers"
    )
    group, created = Group.objects.get_or_create(name=group_name)
    if created:
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="catalogue",
                codename__in=[*groups.GROUPS[group_name], *quotes.QUOTE_PERMISSIONS],
            )
        )
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


def log_in(page, site, user):
    page.goto(site + "/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Catalogue", exact=True)).to_be_visible()


def choose(page, select_id, text):
    """Pick an organisation in the admin's autocomplete (select2) box by typing its name."""
    page.locator(f"#{select_id} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(text)
    page.locator(".select2-results__option", has_text=text).click()
    expect(page.locator(f"#{select_id}")).to_have_value(str(Organisation.objects.get(name=text).pk))


def test_editor_drafts_publisher_publishes_and_the_public_finds_it(page, site):
    title = "Zephyr letters: plain English in council tax reminders"
    editor = staff_member("Editors", "eddie")
    publisher = staff_member("Publishers", "pat")

    # The editor writes the case study, with everything publishing needs, and submits it.
    log_in(page, site, editor)
    page.get_by_role("link", name="Initiatives", exact=True).click()
    page.get_by_role("link", name="Add initiative").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add initiative")
    page.locator("#id_title").press_sequentially(title)
    # The slug fills in as the title is typed, before the editor leaves the field.
    expect(page.locator("#id_slug")).to_have_value(
        "zephyr-letters-plain-english-in-council-tax-reminders"
    )
    assert page.evaluate("document.activeElement.id") == "id_title"
    # No stage is assumed: the editor chooses one.
    expect(page.locator("#id_stage")).to_have_value("")
    page.locator("#id_stage").select_option(label="Pilot")
    page.locator("#id_summary").fill(
        "A council rewrote its council tax reminders in plain English and halved the calls "
        "they caused."
    )
    choose(page, "id_lead_organisation", "London Borough of Hackney")
    for field, term in [
        ("drivers", "Public demand"),
        ("themes", "Digital services"),
        ("outcomes", "Service quality"),
    ]:
        page.locator(f"#id_{field}_from").select_option(label=term)
        page.locator(f"#id_{field}_add").click()
        expect(page.locator(f"#id_{field}_to option")).to_have_text([term])
    choose(page, "id_partnerships-0-organisation", "Government Digital Service")
    page.locator("#id_partnerships-0-role").select_option(label="Delivery partner")
    page.locator("#id_metrics-0-label").fill("Calls about reminders")
    page.locator("#id_metrics-0-value").fill("50")
    page.locator("#id_metrics-0-unit").fill("%")
    page.locator("#id_metrics-0-direction").select_option(label="Decrease")
    page.locator("#id_sources-0-title").fill("Plain-English reminders: evaluation")
    page.locator("#id_sources-0-url").fill("https://example.org/zephyr-evaluation")
    page.locator("#id_quotes-0-text").fill("Calls about reminders fell by 50%.")
    page.locator("#id_quotes-0-source_choice").select_option(
        label="New source #1 (in Sources above)"
    )
    # The metric cites the passage (and so the source) being added in the same form: no
    # second save.
    page.locator("#id_metrics-0-passage").select_option(label="New quote #1 (in Quotes above)")
    # Editors cannot publish: their only workflow step is review.
    expect(page.get_by_role("button", name="Save and publish")).to_have_count(0)
    page.get_by_role("button", name="Save and submit for review").click()

    expect(page.locator(".messagelist")).to_contain_text(f"Submitted for review: “{title}”.")
    initiative = Initiative.objects.get(title=title)
    assert initiative.status == Initiative.Status.IN_REVIEW
    assert initiative.created_by == editor
    assert Partnership.objects.filter(initiative=initiative).count() == 1
    metric = Metric.objects.get(initiative=initiative)
    assert metric.source == Source.objects.get(initiative=initiative)
    assert initiative.stage == Initiative.Stage.PILOT
    page.get_by_role("button", name="Log out").click()

    # Not public yet.
    page.goto(site + "/initiatives/?q=Zephyr")
    expect_result_count(page, 0)
    assert page.request.get(site + initiative.get_absolute_url()).status == 404

    # The publisher finds it waiting for review and publishes it.
    log_in(page, site, publisher)
    page.goto(site + "/admin/catalogue/initiative/?status__exact=in-review")
    page.get_by_role("link", name=title).click()
    expect(page.locator(".workflow-status")).to_have_text("Status: In review.")
    page.get_by_role("button", name="Save and publish").click()

    expect(page.locator(".messagelist")).to_contain_text(f"Published: “{title}”.")
    expect(page.locator(".workflow-status")).to_have_text("Status: Published.")
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.PUBLISHED
    assert initiative.published_at is not None

    # Anyone can now find it: newest in the list, and by searching.
    page.goto(site + "/initiatives/")
    expect_result_count(page, published().count())
    assert shown_titles(page)[0] == title
    page.goto(site + "/")
    page.get_by_role("searchbox", name="Search case studies").fill("zephyr")
    page.get_by_role("button", name="Search", exact=True).click()
    expect_result_count(page, 1)
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".govuk-caption-l")).to_have_text("London Borough of Hackney")
    expect(page.get_by_role("row", name=re.compile("Calls about reminders"))).to_contain_text(
        "50% decrease"
    )
    expect(page.get_by_role("link", name="Government Digital Service")).to_be_visible()
    expect(page.get_by_role("link", name="Plain-English reminders: evaluation")).to_have_attribute(
        "href", "https://example.org/zephyr-evaluation"
    )
    expect(
        page.get_by_role("complementary").get_by_role("link", name="Digital services")
    ).to_be_visible()

    # The editor spots a mistake in the live record and proposes a correction.
    page.goto(site + "/admin/")
    page.get_by_role("button", name="Log out").click()
    log_in(page, site, editor)
    page.goto(site + f"/admin/catalogue/initiative/{initiative.pk}/change/")
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    page.locator("#id_summary").fill(
        "A council rewrote its council tax reminders in plain English and halved the calls "
        "about them."
    )
    page.locator("#id_history_comment").fill("The calls were about reminders, not caused by them.")
    page.get_by_role("button", name="Propose these changes").click()
    expect(page.locator(".messagelist")).to_contain_text("kept as a proposal")
    page.get_by_role("button", name="Log out").click()
    page.goto(site + initiative.get_absolute_url())
    expect(page.get_by_text("halved the calls they caused")).to_be_visible()

    # The publisher finds it on the record, reads the differences and publishes them.
    log_in(page, site, publisher)
    page.goto(site + f"/admin/catalogue/initiative/{initiative.pk}/change/")
    page.get_by_role("link", name=re.compile("Changes proposed by eddie")).click()
    differences = page.get_by_role("table", name="The published version beside the proposed one")
    expect(differences.get_by_role("row", name=re.compile("Summary"))).to_contain_text(
        "halved the calls about them"
    )
    expect(differences).to_contain_text("halved the calls they caused")
    page.get_by_label("Comment for the history (optional)").fill("Agreed.")
    page.get_by_role("button", name="Publish these changes").click()
    expect(page.locator(".messagelist")).to_contain_text("Published the proposed changes")
    page.goto(site + f"/admin/catalogue/initiative/{initiative.pk}/history/")
    expect(
        page.get_by_role("heading", name="Published by pat: changes proposed by eddie")
    ).to_be_visible()
    page.goto(site + initiative.get_absolute_url())
    expect(page.get_by_text("halved the calls about them")).to_be_visible()
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


def test_a_form_sent_after_its_cookie_was_lost_says_why(page, site):
    """Someone whose browser dropped the site's cookies (blocked, or cleared mid-form) gets
    a page saying so, not Django's "CSRF verification failed"."""
    page.goto(f"{site}/admin/login/")
    page.context.clear_cookies()
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sorry, your form could not be sent")
    expect(page.get_by_text("It may be blocking cookies for this site")).to_be_visible()
    assert "CSRF" not in page.content()
