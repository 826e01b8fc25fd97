"""Accessibility and HTML validity of every page type, in Chromium.

- axe-core (node_modules/axe-core) on each page as rendered, with the WCAG 2.0 and 2.1 A and
  AA rules and the WCAG 2.2 AA ones: no violations.
- The Nu HTML Checker (node_modules/vnu-jar, on Java) on each page's HTML exactly as the
  server sent it to the browser (the response body, not the DOM after scripts ran), in one
  run over all the pages: no errors.

axe runs under each page's own CSP, unchanged. The CSP blocks the inline script that
page.add_script_tag(path=...) or (content=...) would add, but allows same-origin script files,
so the test answers a same-origin address itself with axe (page.route) and adds a script tag
for that. bypass_csp is not used: it would also let through anything else the CSP blocks,
such as inline styles, and so check pages other than the ones users get.

Both checkers come from `npm ci` (and vnu needs Java): missing, the test fails on CI and skips
elsewhere.
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from tests.support import require

NODE_MODULES = Path(settings.BASE_DIR) / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Not a page of the site: only the test's route answers it, with axe-core.
AXE_PATH = "/__axe__/axe.min.js"

# Every page type, in each state a visitor meets it in: (name, path, expected status, a
# selector that shows the page is in that state and rendered).
PAGES = [
    ("home", "/", 200, "h1"),
    ("list", "/initiatives/", 200, ".govuk-pagination"),
    ("list, page 2", "/initiatives/?page=2", 200, ".govuk-pagination__prev"),
    ("list, filtered", "/initiatives/?theme=data-analytics&country=GB", 200, "#results .app-chips"),
    ("list, no results", "/initiatives/?q=zzyzx", 200, "text=No case studies match"),
    ("list, bad filter values", "/initiatives/?year_from=abc&theme=nope", 200, "#problems-title"),
    ("search", "/initiatives/?q=housing", 200, ".app-result"),
    ("detail", "/initiatives/digitising-housing-services-in-hackney/", 200, ".govuk-table"),
    (
        "detail with partners",
        "/initiatives/digital-continuing-healthcare-in-herefordshire-and-worcestershire/",
        200,
        "text=Who was involved",
    ),
    ("organisation", "/organisations/government-digital-service/", 200, ".app-result"),
    ("organisations", "/organisations/", 200, ".govuk-table"),
    ("accessibility statement", "/accessibility/", 200, "text=Enforcement procedure"),
    ("privacy and cookies", "/privacy/", 200, "h1"),
    ("data licence", "/data-licence/", 200, "h1"),
    (
        "organisations, searched, bad values",
        "/organisations/?q=gov&kind=central-government&kind=castle",
        200,
        "#problems-title",
    ),
    (
        "list, by organisation",
        "/initiatives/?organisation=government-digital-service",
        200,
        "#role-lead",
    ),
    ("insights", "/insights/", 200, ".app-cross-tab"),
    ("insights, filtered", "/insights/?theme=data-analytics&stage=live", 200, ".app-chips"),
    ("insights, bad filter values", "/insights/?year_from=abc", 200, "#problems-title"),
    ("404", "/no-such-page/", 404, "h1"),
    # Error pages, from views that fail on purpose (tests/fault_urls.py).
    ("400", "/fault/400/", 400, "h1"),
    ("403", "/fault/403/", 403, "h1"),
    ("403, form refused (CSRF)", "/fault/csrf/", 403, "h1"),
    ("429", "/fault/429/", 429, "text=Try again in 60 seconds"),
    ("429, exports busy", "/fault/429-exports/", 429, "text=Try again in 10 seconds"),
    ("500", "/fault/500/", 500, "text=quote this reference"),
    ("503", "/fault/503/", 503, "text=quote this reference"),
    ("admin login", f"/{settings.ADMIN_URL}login/", 200, "#login-form"),
    # Swagger UI draws the operations from the schema after the page has loaded.
    ("API docs", "/api/v1/docs/", 200, ".opblock"),
]


def format_violations(violations):
    lines = []
    for violation in violations:
        lines.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"    {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"    - {' '.join(map(str, node['target']))}")
            summary = " ".join(node.get("failureSummary", "").split())
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def run_vnu(files):
    """The Nu HTML Checker over all the files in one run: {file name: [messages]}."""
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # The JSON report is on stderr; the exit status is 1 when there are errors.
    try:
        messages = json.loads(result.stderr)["messages"]
    except (ValueError, KeyError):
        raise AssertionError(
            f"The Nu HTML Checker gave no report (exit status {result.returncode}):\n"
            f"{result.stderr}{result.stdout}"
        ) from None
    errors = {}
    for message in messages:
        name = Path(message.get("url", "?")).name
        extract = " ".join(message.get("extract", "").split())
        errors.setdefault(name, []).append(
            f"{message['type']}: {message.get('message', '')}"
            f" (line {message.get('lastLine', '?')}: {extract[:200]})"
        )
    return errors


@pytest.mark.urls("tests.fault_urls")
def test_every_page_type_is_accessible_and_valid_html(page, site, subtests):
    require(AXE.exists(), f"axe-core not found at {AXE}; run npm ci")
    require(VNU.exists(), f"vnu.jar not found at {VNU}; run npm ci")
    require(shutil.which("java"), "java not found: the Nu HTML Checker needs Java 11 or later")

    axe = AXE.read_text()
    page.route(
        site + AXE_PATH, lambda route: route.fulfill(body=axe, content_type="text/javascript")
    )

    with tempfile.TemporaryDirectory() as directory:
        pages_by_file = {}
        for number, (name, path, status, ready) in enumerate(PAGES):
            page.console_errors.clear()
            response = page.goto(site + path)
            assert response.status == status, f"{name} ({path}): status {response.status}"
            page.locator(ready).first.wait_for()
            html = Path(directory) / f"{number:02d}.html"
            html.write_bytes(response.body())
            pages_by_file[html.name] = f"{name} ({path})"

            page.add_script_tag(url=site + AXE_PATH)
            results = page.evaluate(
                "tags => axe.run(document,"
                " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
                AXE_TAGS,
            )
            with subtests.test(msg=f"axe: {name}", path=path):
                violations = results["violations"]
                assert not violations, (
                    f"axe found {len(violations)} rule(s) violated on {name} ({path}):\n"
                    + format_violations(violations)
                )
                # Nothing the page needs (nor axe) was blocked by the CSP.
                blocked = [e for e in page.console_errors if "Content Security Policy" in e]
                assert not blocked, f"CSP violations on {name} ({path}): {blocked}"

        errors = run_vnu(sorted(Path(directory).glob("*.html")))

    with subtests.test(msg="Nu HTML Checker"):
        report = "\n".join(
            f"  {pages_by_file.get(file, file)}:\n    " + "\n    ".join(messages)
            for file, messages in sorted(errors.items())
        )
        assert not errors, f"The Nu HTML Checker found errors:\n{report}"


def test_the_list_with_its_filter_panel_open_on_a_phone(browser, site):
    """At 375 px the panel opens over the list: axe on the page as it is then, and the Nu
    checker on that page's HTML as served."""
    require(AXE.exists(), f"axe-core not found at {AXE}; run npm ci")
    require(VNU.exists(), f"vnu.jar not found at {VNU}; run npm ci")
    require(shutil.which("java"), "java not found: the Nu HTML Checker needs Java 11 or later")
    context = browser.new_context(viewport={"width": 375, "height": 667}, locale="en-GB")
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        axe = AXE.read_text()
        page.route(
            site + AXE_PATH, lambda route: route.fulfill(body=axe, content_type="text/javascript")
        )
        path = "/initiatives/?theme=data-analytics&stage=scaled"
        response = page.goto(site + path)
        page.get_by_role("button", name="Filter (2 applied)").click()
        page.locator("#filters").wait_for()
        page.add_script_tag(url=site + AXE_PATH)
        results = page.evaluate(
            "tags => axe.run(document,"
            " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            AXE_TAGS,
        )
        assert not results["violations"], format_violations(results["violations"])
        with tempfile.TemporaryDirectory() as directory:
            html = Path(directory) / "list.html"
            html.write_bytes(response.body())
            assert run_vnu([html]) == {}
    finally:
        context.close()
