def test_home_page_renders_in_chromium(page, site):
    page.goto(site + "/")
    assert page.locator("h1").count() == 1
    assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
    assert page.console_errors == []  # no CSP violation or script error
