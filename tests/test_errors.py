"""Error pages (catalogue/errors.py) as visitors and API clients get them, with DEBUG off:
GOV.UK pages, JSON under /api/, the request id to quote on 500 and 503, no traceback, and
nothing that needs the database."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError, connection
from django.test import Client, RequestFactory

from catalogue import errors
from tests.factories import InitiativeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.fault_urls")]

HEADINGS = {
    400: "Sorry, there is a problem with the request",
    403: "You do not have permission to view this page",
    404: "Page not found",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False


@pytest.fixture
def client():
    client = Client()
    client.raise_request_exception = False  # answer as production does, with the 500 page
    return client


def assert_page(response, status, heading=None):
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.text
    assert f'<h1 class="govuk-heading-l">{heading or HEADINGS[status]}</h1>' in html
    assert 'class="govuk-template"' in html  # the site's layout, not a bare page
    assert "Traceback" not in html
    return html


def assert_reference(response):
    """The page shows the request id, the one in the header and the logs."""
    request_id = response["X-Request-ID"]
    assert re.fullmatch("[0-9a-f]{32}", request_id)
    assert f"quote this reference: <strong>{request_id}</strong>" in response.text


@pytest.mark.parametrize("status", [400, 403, 500, 503])
def test_each_error_page(client, status):
    response = client.get(f"/fault/{status}/")
    html = assert_page(response, status)
    if status >= 500:
        assert_reference(response)
        assert response["Cache-Control"] == "no-store"
    else:
        assert "quote this reference" not in html


def test_a_view_raising_gives_the_500_page_without_the_exception(client):
    response = client.get("/fault/500/")
    assert_page(response, 500)
    assert "RuntimeError" not in response.text
    assert "boom" not in response.text


def test_unknown_page_is_404(client):
    html = assert_page(client.get("/no-such-page/"), 404)
    assert 'href="/initiatives/"' in html
    assert_page(client.get("/initiatives/no-such-case-study/"), 404)


def test_a_bad_host_is_400(client, settings):
    settings.ALLOWED_HOSTS = ["cases.example.gov.uk"]
    assert_page(client.get("/", HTTP_HOST="attacker.example"), 400)


def test_a_preview_without_permission_is_403(client):
    initiative = InitiativeFactory()
    staff = get_user_model().objects.create_user("visitor", is_staff=True)
    client.force_login(staff)
    assert_page(client.get(f"/initiatives/{initiative.slug}/preview/"), 403)


def test_503_while_the_database_is_unavailable(client):
    html = assert_page(client.get("/fault/503/"), 503)
    assert "connection" not in html.lower()  # the reason is logged, not shown
    response = client.get("/fault/503/")
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)


# -- CSRF failures --------------------------------------------------------------------------

CSRF_HEADING = "Sorry, your form could not be sent"


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def test_a_form_sent_without_the_cookie_says_cookies_may_be_blocked(csrf_client):
    response = csrf_client.post("/admin/login/", {"username": "a", "password": "b"})
    html = assert_page(response, 403, CSRF_HEADING)
    assert "blocking cookies" in html


def test_a_form_sent_with_a_stale_token_says_it_expired(csrf_client):
    csrf_client.get("/admin/login/")  # sets the CSRF cookie
    response = csrf_client.post(
        "/admin/login/", {"username": "a", "password": "b", "csrfmiddlewaretoken": "x" * 64}
    )
    html = assert_page(response, 403, CSRF_HEADING)
    assert "The form has expired" in html


def test_a_form_sent_from_elsewhere_says_so(csrf_client):
    csrf_client.get("/admin/login/", secure=True)
    response = csrf_client.post(
        "/admin/login/",
        {"username": "a", "password": "b"},
        secure=True,
        headers={"Origin": "https://attacker.example"},
    )
    html = assert_page(response, 403, CSRF_HEADING)
    assert "Referer header" in html


# -- the API: JSON --------------------------------------------------------------------------


def assert_json(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == {"detail": errors.DETAILS[status], "request_id": response["X-Request-ID"]}


def test_api_errors_are_json(client):
    assert_json(client.get("/api/fault/500/"), 500)
    assert_json(client.get("/api/no-such-version/"), 404)
    response = client.get("/api/fault/503/")
    assert_json(response, 503)
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)


def test_api_errors_from_the_api_itself_carry_the_request_id(client):
    response = client.get("/api/v1/initiatives/no-such-case-study/")
    assert response.status_code == 404
    assert response.json()["request_id"] == response["X-Request-ID"]


# -- without the database -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "status"),
    [
        (errors.bad_request, 400),
        (errors.permission_denied, 403),
        (errors.page_not_found, 404),
        (errors.server_error, 500),
        (lambda request: errors.unavailable(request, OperationalError("down")), 503),
        (lambda request: errors.csrf_failure(request, "CSRF token missing."), 403),
    ],
)
def test_error_pages_read_nothing_from_the_database(view, status, django_assert_num_queries):
    request = RequestFactory().get("/initiatives/")
    # What the middleware would have given a real request; lazy, like request.user.
    request.user = None
    with django_assert_num_queries(0):
        response = view(request)
    assert response.status_code == status


@pytest.fixture
def database_down(monkeypatch):
    """Every query fails as it does when the server is stopped."""

    def unreachable(*args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1" failed: Connection refused')

    monkeypatch.setattr(connection, "cursor", unreachable)


def test_every_kind_of_page_is_503_while_the_database_is_down(client, database_down):
    for path in ("/", "/initiatives/", "/initiatives/a-case-study/", "/insights/"):
        assert_page(client.get(path), 503)
    assert_json(client.get("/api/v1/initiatives/"), 503)


def test_the_admin_is_503_while_the_database_is_down(client, monkeypatch):
    user = get_user_model().objects.create_superuser("editor", "e@example.org", "x" * 16)
    client.force_login(user)

    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", unreachable)
    assert_page(client.get("/admin/"), 503)


def test_an_outage_raised_outside_a_view_is_503_too():
    """Raised by a middleware (a session saved after the view), it reaches handler500."""
    request = RequestFactory().get("/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = errors.server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"]


def test_while_debugging_a_database_error_shows_the_technical_page(client, settings):
    settings.DEBUG = True
    response = client.get("/fault/503/")
    assert response.status_code == 500
    assert "OperationalError" in response.text
