"""The list on phones and tablets (320, 375 and 768 CSS px), with and without JavaScript.

Up to 768 px the filter panel is hidden behind "Filter (N applied)", so the heading, the
count and the first result are on the first screen, and nothing covers them: checked with
document.elementFromPoint at the result's centre, not only with sizes. The toggle opens and
closes the panel (with JavaScript as a button with aria-expanded that gives focus back;
without it as a link to #filters), and a filter applied from the panel is used.
"""

import re

import pytest
from playwright.sync_api import expect

from catalogue.models import Initiative

# Phones (the smallest, as the reflow test has it, and a common one) and a tablet, portrait.
SCREENS = [(320, 640), (375, 667), (768, 1024)]

# Whether the element's centre is on screen and the topmost thing there is it or inside it.
UNCOVERED = """element => {
  const box = element.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) {
    return `centre (${Math.round(x)}, ${Math.round(y)}) is off the screen`;
  }
  const top = document.elementFromPoint(x, y);
  return element.contains(top) ? '' : `covered by ${top.tagName}.${[...top.classList].join('.')}`;
}"""


def watch(page):
    """Record the page's console errors and uncaught exceptions (CSP refusals show there)."""
    page.console_errors = []
    page.on(
        "console",
        lambda message: message.type == "error" and page.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    return page


def on_first_screen(page, locator):
    """The element is on the first screen and nothing is on top of it."""
    problem = locator.evaluate(UNCOVERED)
    assert not problem, f"{locator} at {page.viewport_size}: {problem}"


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def javascript(request):
    return request.param


@pytest.fixture(params=SCREENS, ids=[f"{w}px" for w, _ in SCREENS])
def small_page(request, browser, javascript):
    width, height = request.param
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="en-GB",
        java_script_enabled=javascript,
    )
    context.set_default_timeout(10_000)
    yield watch(context.new_page())
    context.close()


def toggle(page, javascript, name):
    role = "button" if javascript else "link"
    return page.get_by_role(role, name=name, exact=True)


def test_the_results_come_first_and_the_panel_opens_closes_and_filters(
    small_page, site, javascript
):
    page = small_page
    page.goto(site + "/initiatives/")
    panel = page.locator("#filters")
    total = Initiative.objects.published().count()

    expect(page.get_by_role("heading", level=1)).to_have_text("Case studies")
    expect(page.locator("#result-count")).to_have_text(f"{total} case studies")
    for locator in (
        page.get_by_role("heading", level=1),
        page.locator("#result-count"),
        page.locator(".app-result").first,
    ):
        on_first_screen(page, locator)
    expect(panel).to_be_hidden()

    # Open, then close with the panel's own control.
    opener = toggle(page, javascript, "Filter")
    on_first_screen(page, opener)
    if javascript:
        expect(opener).to_have_attribute("aria-expanded", "false")
        expect(opener).to_have_attribute("aria-controls", "filters")
    opener.click()
    expect(panel).to_be_visible()
    close = toggle(page, javascript, "Close filters")
    on_first_screen(page, close)
    on_first_screen(page, page.locator("#filters-heading"))
    if javascript:
        expect(opener).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#filters-heading")).to_be_focused()
        # The page behind the panel takes no clicks or focus while it is open.
        expect(page.locator("#results")).to_have_js_property("inert", True)
    close.click()
    expect(panel).to_be_hidden()
    on_first_screen(page, page.locator(".app-result").first)
    if javascript:
        expect(opener).to_have_attribute("aria-expanded", "false")
        expect(opener).to_be_focused()
        expect(page.locator("#results")).to_have_js_property("inert", False)

    # Apply a filter from the panel.
    opener.click()
    theme = panel.get_by_label("Digital services", exact=False)
    theme.check()
    panel.get_by_role("button", name="Apply filters").first.click()
    expect(page).to_have_url(re.compile(r"[?&]theme=digital-services(&|$)"))
    matching = Initiative.objects.published().filter(themes__slug="digital-services").count()
    expect(page.locator("#result-count")).to_have_text(
        f"{matching} case stud{'y' if matching == 1 else 'ies'}"
    )
    expect(panel).to_be_hidden()
    expect(toggle(page, javascript, "Filter (1 applied)")).to_be_visible()
    on_first_screen(page, page.locator(".app-result").first)
    assert page.console_errors == []


def test_the_panel_works_by_keyboard(browser, site):
    context = browser.new_context(viewport={"width": 375, "height": 667}, locale="en-GB")
    context.set_default_timeout(10_000)
    try:
        page = watch(context.new_page())
        page.goto(site + "/initiatives/?stage=scaled")
        opener = page.get_by_role("button", name="Filter (1 applied)")
        opener.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#filters")).to_be_visible()
        expect(page.locator("#filters-heading")).to_be_focused()
        # Tab goes to the close control first, and stays in the panel.
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Close filters")).to_be_focused()
        for _ in range(5):
            page.keyboard.press("Tab")
            in_panel = "document.querySelector('#filters').contains(document.activeElement)"
            assert page.evaluate(in_panel)
        page.keyboard.press("Escape")
        expect(page.locator("#filters")).to_be_hidden()
        expect(opener).to_be_focused()
        page.keyboard.press("Space")
        expect(page.locator("#filters")).to_be_visible()
        page.get_by_role("button", name="Close filters").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#filters")).to_be_hidden()
        expect(opener).to_be_focused()

        # Widening the window to a desktop while open shows the panel beside the results.
        opener.click()
        page.set_viewport_size({"width": 1024, "height": 768})
        expect(page.locator("#filters")).to_be_visible()
        expect(page.locator("#results")).to_have_js_property("inert", False)
        expect(opener).to_be_hidden()
        assert page.console_errors == []
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_error_summary_leads_to_the_field_inside_the_closed_panel(browser, site, javascript):
    context = browser.new_context(
        viewport={"width": 375, "height": 667}, locale="en-GB", java_script_enabled=javascript
    )
    context.set_default_timeout(10_000)
    try:
        page = watch(context.new_page())
        page.goto(site + "/initiatives/?year_from=abc")
        summary = page.locator(".govuk-error-summary")
        expect(summary).to_be_visible()
        expect(page.locator("#filters")).to_be_hidden()
        summary.get_by_role("link", name="Started from: “abc” was ignored.", exact=False).click()
        expect(page.locator("#filters")).to_be_visible()
        expect(page.locator("#year_from")).to_be_in_viewport()
        if javascript:
            expect(page.locator("#year_from")).to_be_focused()
        expect(page.locator("#year_from-error")).to_be_visible()
        assert page.console_errors == []
    finally:
        context.close()
