"""What the journeys (tests/browser/journeys/test_*.py) share: pages that record their
console errors and uncaught exceptions, and reading what the pages show."""

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from catalogue.models import Initiative

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
