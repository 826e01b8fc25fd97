"""End-to-end journeys through the live site, as staff take them, in Chromium: an editor
and a publisher getting a new case study onto the public site, and a form sent after its
cookie was lost saying why. What the pages show is checked against the database, and every
page visited must log no console error.
"""

import importlib
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import expect

from catalogue.models import Initiative, Metric, Organisation, Partnership, Source
from tests.browser.journeys.support import (
    expect_result_count,
    published,
    shown_titles,
)

PASSWORD = "correct-horse-battery-staple"


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
