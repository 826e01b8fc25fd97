"""The editors' admin: who may sign in, how often they may try, and which passwords."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from catalogue.security import client_ip

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def editor():
    user = get_user_model().objects.create_user("editor", "editor@example.org", PASSWORD)
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="Editors"))
    return user


def sign_in(client, username, password, address="203.0.113.7"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=address,
    )


def signed_in(response):
    return response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_a_staff_editor_signs_in(client, editor):
    assert signed_in(sign_in(client, "editor", PASSWORD))
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize(
    "unsafe",
    ["https://evil.example/", "//evil.example/admin/", "javascript:alert(1)", "/\\evil.example"],
)
def test_an_unsafe_next_at_sign_in_leads_to_the_admin_index(client, editor, unsafe):
    # The sign-in form as a browser posts it after following a link with ?next=<unsafe>.
    form = client.get(reverse("admin:login"), {"next": unsafe})
    assert form.status_code == 200
    response = client.post(
        reverse("admin:login") + "?next=" + unsafe,
        {"username": "editor", "password": PASSWORD, "next": unsafe},
        REMOTE_ADDR="203.0.113.7",
    )
    assert signed_in(response), response.get("Location")
    assert client.get(response["Location"]).status_code == 200


def test_an_account_that_is_not_staff_cannot_sign_in(client, editor):
    editor.is_staff = False
    editor.save()
    response = sign_in(client, "editor", PASSWORD)
    assert response.status_code == 200  # the form again, with its error
    assert "correct username and password for a staff account" in response.text
    assert client.get(reverse("admin:index")).status_code == 302  # to the sign-in page


def test_sign_in_is_refused_after_the_failure_limit_even_with_the_right_password(client, editor):
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(limit - 1):
        response = sign_in(client, "editor", f"wrong password {attempt}")
        assert response.status_code == 200, attempt  # the form again
    locked = sign_in(client, "editor", "wrong password, the last allowed")
    assert locked.status_code == 429
    assert "Too many sign-in attempts" in locked.text
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    # Now even the right password is refused, and nothing is signed in.
    right = sign_in(client, "editor", PASSWORD)
    assert right.status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302
    attempt = AccessAttempt.objects.get(username="editor", ip_address="203.0.113.7")
    assert attempt.failures_since_start >= limit


def test_the_limit_is_per_username_and_address(client, editor):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "editor", f"wrong {attempt}", address="203.0.113.7")
    assert sign_in(client, "editor", PASSWORD, address="203.0.113.7").status_code == 429
    # The same editor from their own office is not locked out by someone else's guessing.
    assert signed_in(sign_in(client, "editor", PASSWORD, address="198.51.100.20"))


def test_a_success_before_the_limit_starts_the_count_again(client, editor):
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "editor", f"wrong {attempt}")
    assert signed_in(sign_in(client, "editor", PASSWORD))
    client.logout()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "editor", f"wrong again {attempt}").status_code == 200
    assert signed_in(sign_in(client, "editor", PASSWORD))


def test_the_lockout_clears_after_the_cool_off(client, editor):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "editor", f"wrong {attempt}")
    assert sign_in(client, "editor", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - (settings.AXES_COOLOFF_TIME * 2)
    )
    assert signed_in(sign_in(client, "editor", PASSWORD))


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short1!", "too short"),
        ("password1234", "too common"),
        ("738261940573", "entirely numeric"),
        ("margaret.hamilton", "too similar"),
    ],
)
def test_weak_passwords_are_refused(password, problem):
    form = AdminUserCreationForm(
        {
            "username": "margaret.hamilton",
            "password1": password,
            "password2": password,
            "usable_password": "true",
        }
    )
    assert not form.is_valid()
    assert problem in " ".join(form.errors["password2"])


def test_a_long_passphrase_is_accepted():
    form = AdminUserCreationForm(
        {"username": "editor", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    "proxies, forwarded, expected",
    [
        (0, "198.51.100.1", "192.0.2.10"),  # no proxy: the header is the client's own words
        (1, "198.51.100.1", "198.51.100.1"),  # one balancer appended the visitor's address
        (1, "10.9.9.9, 198.51.100.1", "198.51.100.1"),  # a forged entry to the left is ignored
        (2, "198.51.100.1, 10.0.0.2", "198.51.100.1"),
        (2, "10.0.0.2", "192.0.2.10"),  # shorter than the proxies: not trusted
        (1, "not-an-address", "192.0.2.10"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_behind_trusted_proxies(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
