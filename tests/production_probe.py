"""Requests answered under the production settings, for tests/test_production.py.

Run in a subprocess with the production environment (DJANGO_DEBUG=0 and the rest), since
the settings are read from the environment once, at import. It sets up a fresh database and
the collected static files as a deploy does, makes the requests, and prints what came back
as JSON to the file named by its argument: {name: {"status", "headers", "cookies", "body"}}.
"""

import json
import sys
from pathlib import Path

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.staticfiles.storage import staticfiles_storage  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from catalogue.models import Initiative  # noqa: E402

HOST = settings.ALLOWED_HOSTS[0]
ORIGIN = f"https://{HOST}"
PASSWORD = "a long and unguessable passphrase"


def answer(response, body=False):
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "cookies": {
            name: {
                "secure": bool(morsel["secure"]),
                "httponly": bool(morsel["httponly"]),
                "samesite": morsel["samesite"],
            }
            for name, morsel in response.cookies.items()
        },
        "body": (response.content.decode() if body and not response.streaming else ""),
    }


def main():
    call_command("migrate", verbosity=0)
    call_command("seed_catalogue", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    get_user_model().objects.create_superuser("publisher", "p@example.org", PASSWORD)
    slug = Initiative.objects.published().values_list("slug", flat=True).first()
    admin = f"/{settings.ADMIN_URL}"

    # As the TLS-terminating load balancer forwards them.
    client = Client(HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https")
    pages = {
        "home": "/",
        "list": "/initiatives/?theme=data-analytics",
        "detail": f"/initiatives/{slug}/",
        "insights": "/insights/",
        "export": "/initiatives/export.csv",
        "feed": "/feeds/initiatives.atom",
        "api": "/api/v1/initiatives/",
        "api-docs": "/api/v1/docs/",
        "missing": "/no-such-page/",
        "admin-login": f"{admin}login/",
        "static": staticfiles_storage.url("css/main.css"),
    }
    results = {name: answer(client.get(path)) for name, path in pages.items()}
    # What is answered before or instead of the site's own middleware: a load balancer's
    # probes (by IP address, plain HTTP), a wrong Host, and files WhiteNoise serves or not.
    balancer = Client(HTTP_HOST="10.0.0.5")
    results["healthz"] = answer(balancer.get("/healthz"))
    results["readyz"] = answer(balancer.get("/readyz"))
    results["bad-host"] = answer(Client(HTTP_HOST="scanner.example").get("/"))
    results["scss"] = answer(client.get(f"{settings.STATIC_URL}scss/main.scss"))
    results["oauth2-redirect"] = answer(
        client.get(
            f"{settings.STATIC_URL}drf_spectacular_sidecar/swagger-ui-dist/oauth2-redirect.html"
        )
    )
    results["collected"] = sorted(
        str(path.relative_to(settings.STATIC_ROOT))
        for path in Path(settings.STATIC_ROOT).rglob("*")
        if path.is_file()
    )
    results["plain-http"] = answer(
        Client(HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="http").get("/initiatives/")
    )

    # The sign-in form, as a browser on the public address posts it.
    browser = Client(HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https", enforce_csrf_checks=True)
    form = browser.get(f"{admin}login/")
    assert form.status_code == 200, form.status_code
    token = form.cookies["csrftoken"].value
    login = {"username": "publisher", "password": PASSWORD, "csrfmiddlewaretoken": token}
    forged = browser.post(f"{admin}login/", login, HTTP_ORIGIN="https://evil.example")
    results["login-other-origin"] = answer(forged)
    results["login-trusted-origin"] = answer(
        browser.post(f"{admin}login/", login, HTTP_ORIGIN=settings.CSRF_TRUSTED_ORIGINS[0])
    )
    results["admin-index"] = answer(browser.get(admin))
    results["settings"] = {
        "CSRF_TRUSTED_ORIGINS": settings.CSRF_TRUSTED_ORIGINS,
        "DEBUG": settings.DEBUG,
        "ORIGIN": ORIGIN,
    }
    with open(sys.argv[1], "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
