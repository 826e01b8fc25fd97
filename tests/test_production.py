"""The production settings as served: security headers on public, admin and API responses,
cookies, CSRF origins and static-file caching.

The settings are read from the environment at import, so tests/production_probe.py makes
the requests in a subprocess started with a production environment, on a fresh database
set up as a deploy does it (migrate, seed, collectstatic).
"""

import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

HOST = "cases.example.gov.uk"
EDITORS_ORIGIN = "https://editors.example.gov.uk"

PUBLIC = ["home", "list", "detail", "insights", "export", "feed", "missing"]
API = ["api", "api-docs"]
ADMIN = ["admin-login"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("production")
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "production-probe-" + "k3y-0f-sufficient-length-and-variety" * 2,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_CSRF_TRUSTED_ORIGINS": EDITORS_ORIGIN,
        "DATABASE_URL": f"sqlite:///{tmp / 'catalogue.sqlite3'}",
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
        "DJANGO_SETTINGS_MODULE": "catalogue.settings",
        "DJANGO_LOG_LEVEL": "ERROR",
    }
    for test_only in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_HSTS_PRELOAD", "DJANGO_BENCHMARK"):
        env.pop(test_only, None)
    result = subprocess.run(
        [sys.executable, "-m", "tests.production_probe", str(tmp / "answers.json")],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((tmp / "answers.json").read_text())


def test_the_probe_ran_with_production_settings(served):
    assert served["settings"]["DEBUG"] is False
    assert served["settings"]["CSRF_TRUSTED_ORIGINS"] == [EDITORS_ORIGIN]
    for name in PUBLIC + API + ADMIN:
        expected = 404 if name == "missing" else 200
        assert served[name]["status"] == expected, name


@pytest.mark.parametrize("name", PUBLIC + API + ADMIN)
def test_security_headers(served, name):
    headers = served[name]["headers"]
    csp = headers["Content-Security-Policy"]
    directives = {}
    for part in filter(None, (d.strip() for d in csp.split(";"))):
        name, _, value = part.partition(" ")
        directives[name] = value
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    # The nonce is there only when the page used it (Django adds it then).
    assert directives["script-src"] == "'self'" or re.fullmatch(
        r"'self' 'nonce-[A-Za-z0-9+/_=-]{16,}'", directives["script-src"]
    )
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    policy = dict(item.split("=", 1) for item in headers["Permissions-Policy"].split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
        assert policy[feature] == "()", feature


def test_each_response_has_its_own_nonce(served):
    nonces = [
        re.findall(r"'nonce-([^']+)'", served[name]["headers"]["Content-Security-Policy"])
        for name in ("home", "detail", "api-docs", "admin-login")  # pages with scripts
    ]
    assert all(len(found) == 1 for found in nonces), nonces
    assert len({found[0] for found in nonces}) == len(nonces)


@pytest.mark.parametrize("name", PUBLIC + API)
def test_public_responses_set_no_cookie(served, name):
    assert served[name]["cookies"] == {}
    assert "Set-Cookie" not in served[name]["headers"]


def test_plain_http_is_sent_to_https(served):
    answer = served["plain-http"]
    assert answer["status"] == 301
    assert answer["headers"]["Location"] == f"https://{HOST}/initiatives/"


def test_admin_cookies_are_secure_and_http_only(served):
    csrf = served["admin-login"]["cookies"]["csrftoken"]
    assert csrf == {"secure": True, "httponly": True, "samesite": "Lax"}
    session = served["login-trusted-origin"]["cookies"]["sessionid"]
    assert session == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_csrf_trusts_only_the_origins_from_the_environment(served):
    assert served["login-other-origin"]["status"] == 403
    assert "sessionid" not in served["login-other-origin"]["cookies"]
    assert served["login-trusted-origin"]["status"] == 302  # signed in
    assert served["admin-index"]["status"] == 200


def test_hashed_static_files_are_cached_for_ever(served):
    static = served["static"]
    assert static["status"] == 200
    cache_control = {part.strip() for part in static["headers"]["Cache-Control"].split(",")}
    assert {"public", "immutable"} <= cache_control
    assert "max-age=315360000" in cache_control  # ten years: the name changes with the file
    assert static["headers"]["Content-Type"].startswith("text/css")


# Answered before the site's own middleware, or instead of it.
EARLY = ["healthz", "readyz", "bad-host", "static", "scss", "oauth2-redirect"]


@pytest.mark.parametrize("name", EARLY)
def test_responses_answered_early_carry_the_security_headers_too(served, name):
    headers = served[name]["headers"]
    directives = dict(
        part.strip().partition(" ")[::2]
        for part in headers["Content-Security-Policy"].split(";")
        if part.strip()
    )
    assert directives["default-src"] == "'self'"
    # No nonce on what Django did not render (so no inline script runs there); the 404
    # pages for the files not served are Django's, with a nonce of their own.
    assert directives["script-src"] == "'self'" or (
        served[name]["status"] == 404
        and re.fullmatch(r"'self' 'nonce-[A-Za-z0-9+/_=-]{16,}'", directives["script-src"])
    )
    assert directives["frame-ancestors"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Access-Control-Allow-Origin" not in headers


def test_the_answers_answered_early_are_what_they_should_be(served):
    assert served["healthz"]["status"] == 200
    assert served["readyz"]["status"] == 200
    assert served["bad-host"]["status"] == 400
    assert served["static"]["status"] == 200


def test_sources_are_not_collected_or_served(served):
    assert served["scss"]["status"] == 404
    collected = served["collected"]
    assert any(name.startswith("css/main.") for name in collected)
    assert any(name.startswith("govuk/") for name in collected)
    assert not [name for name in collected if "scss" in name]


def test_swagger_uis_oauth2_page_cannot_run_its_script_or_be_framed(served):
    # An HTML page of drf-spectacular-sidecar's, for an OAuth2 sign-in the API does not have:
    # served as a file, under the site's policy without a nonce, so its inline script is
    # refused, and to no other origin.
    page = served["oauth2-redirect"]
    assert page["status"] == 200
    assert page["headers"]["Content-Type"].startswith("text/html")
    csp = page["headers"]["Content-Security-Policy"]
    assert "script-src 'self';" in csp + ";" and "nonce" not in csp
