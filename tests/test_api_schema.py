"""The read-only JSON API, /api/v1/: its OpenAPI schema and docs page, and schemathesis
drawing cases from the schema through the whole WSGI stack."""

import re
from collections import Counter

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from catalogue.models import Initiative, Organisation, Partnership, Theme
from tests.api_support import (
    API,
    LIST,
    TAXONOMIES,
    TAXONOMY_PATHS,
    twice_measured_catalogue,
)
from tests.factories import (
    DraftFactory,
    InitiativeFactory,
    PartnershipFactory,
    varied_initiatives,
)

pytestmark = pytest.mark.django_db

# -- the schema and its docs -------------------------------------------------------------


def load_schema(client):
    return get_schema_response(client).json()


def get_schema_response(client):
    response = client.get(f"{API}schema/", {"format": "json"})
    assert response.status_code == 200
    return response


def parameters(schema, path):
    return {p["name"]: p for p in schema["paths"][path]["get"].get("parameters", [])}


def test_schema_is_valid_openapi_3(client):
    InitiativeFactory()
    schema = load_schema(client)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # drf-spectacular's OpenAPI 3 JSON Schema check
    assert client.get(f"{API}schema/").status_code == 200  # YAML by default
    assert set(schema["paths"]) == {
        LIST,
        LIST + "{slug}/",
        f"{API}organisations/",
        f"{API}organisations/{{slug}}/",
        *TAXONOMY_PATHS,
        *(f"{path}{{slug}}/" for path in TAXONOMY_PATHS),
    }
    for operations in schema["paths"].values():
        assert set(operations) == {"get"}, "read-only"


def test_schema_documents_every_filter_with_its_values(client):
    PartnershipFactory(initiative=InitiativeFactory())  # two public organisations
    DraftFactory()  # and one that is not
    schema = load_schema(client)
    params = parameters(schema, LIST)
    filter_names = {"q", "theme", "driver", "outcome", "barrier", "sector", "stage"}
    filter_names |= {"country", "kind", "year_from", "year_to", "sort", "page"}
    filter_names |= {"organisation", "role", "evidence", "innovation_type", "measured"}
    assert set(params) == filter_names
    for param, model in TAXONOMIES.items():
        schema_of = params[param]["schema"]
        assert schema_of["type"] == "array"
        assert schema_of["items"]["enum"] == list(
            model.objects.order_by("name").values_list("slug", flat=True)
        ), param
        assert params[param]["explode"] is True
    assert params["stage"]["schema"]["items"]["enum"] == Initiative.Stage.values
    assert "GB" in params["country"]["schema"]["items"]["enum"]
    assert "EU" in params["country"]["schema"]["items"]["enum"]
    assert "local-authority" in params["kind"]["schema"]["items"]["enum"]
    assert sorted(params["organisation"]["schema"]["items"]["enum"]) == sorted(
        Organisation.objects.public().values_list("slug", flat=True)
    )
    assert params["role"]["schema"]["items"]["enum"] == ["lead", *Partnership.Role.values]
    assert params["evidence"]["schema"]["items"]["enum"] == ["1", "2", "3", "4", "5"]
    assert params["innovation_type"]["schema"]["items"]["enum"] == (
        Initiative.InnovationType.values
    )
    assert params["measured"]["schema"]["items"]["enum"] == ["yes", "no"]
    assert params["year_to"]["schema"] == {"type": "integer", "minimum": 1950, "maximum": 2100}
    assert params["sort"]["schema"]["enum"] == [
        "relevance",
        "-published",
        "-updated",
        "title",
        "-start_year",
        "start_year",
    ]
    assert params["year_from"]["schema"] == {"type": "integer", "minimum": 1950, "maximum": 2100}
    assert params["q"]["schema"] == {"type": "string", "maxLength": 200, "pattern": r"^[^\u0000]*$"}
    assert all(param["allowEmptyValue"] for param in params.values()), "blank is ignored"
    assert params["page"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": django_settings.CATALOGUE_MAX_PAGE,
    }
    responses = schema["paths"][LIST]["get"]["responses"]
    assert set(responses) == {"200", "400", "404"}
    assert set(parameters(schema, f"{API}organisations/")) == {"page"}


def test_schema_enums_follow_the_vocabularies(client):
    Theme.objects.create(name="Quantum", slug="quantum")
    enum = parameters(load_schema(client), LIST)["theme"]["schema"]["items"]["enum"]
    assert "quantum" in enum


def test_docs_page_runs_under_the_strict_csp_from_our_own_static_files(client):
    response = client.get(f"{API}docs/")
    assert response.status_code == 200
    html = response.text
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "style-src 'self';" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 3
    for attributes, body in scripts:
        assert body.strip() == "", "no inline script"
        assert f'nonce="{nonce}"' in attributes
        source = re.search(r'src="([^"]+)"', attributes).group(1)
        assert source.startswith(("/static/", f"{API}docs/?"))
    assert "<style" not in html
    assert "style=" not in html
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert stylesheets and all(href.startswith("/static/") for href in stylesheets)
    assert "//" not in " ".join(re.findall(r'(?:src|href)="([^"]+)"', html)), "no CDN"
    for path in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(path), path
    script = client.get(f"{API}docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert '"/api/v1/schema/"' in script.text


# -- property-based: schemathesis over the schema -------------------------------------
#
# schemathesis's pytest integration (schema.parametrize, from_fixture) does not run under
# the pinned pytest 9.2 (it sets Function._nodeid, which pytest no longer has), so each
# operation's cases are drawn with operation.as_strategy() under plain Hypothesis, inside
# one test that has the database. Every request goes through the whole WSGI stack.

# Examples per operation and generation mode; bounded so the run stays well under 30 s.
MAX_EXAMPLES = 50
STRICT = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run and database: failures reproduce
    database=None,  # nothing to replay: derandomized runs draw the same cases anyway
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


@pytest.fixture
def wsgi_app(db):
    """The project's WSGI application, keeping the test's database connection.

    Django closes "old" connections when each request starts and finishes; Django's test
    client switches that off, a bare WSGI call does not, and on PostgreSQL the test's
    transaction would be closed with the connection.
    """
    from catalogue.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_app):
    """The served schema, loaded through the WSGI app, over a catalogue worth exploring."""
    varied_initiatives(8)
    twice_measured_catalogue(2)
    return schemathesis.openapi.from_wsgi(f"{API}schema/?format=json", wsgi_app)


def strategies(operation):
    """Positive and negative cases; detail operations also get slugs that exist, so their
    200 responses are checked, not only 404s."""
    yield "positive", operation.as_strategy(GenerationMode.POSITIVE)
    yield "negative", operation.as_strategy(GenerationMode.NEGATIVE)
    if any(parameter.name == "page" for parameter in operation.query):
        # Generated page numbers are nearly all past the last page (404): also ask for
        # the first page, so the filters' 200 responses are checked as much.
        yield "first page", operation.as_strategy(query={"page": 1})
    if operation.path.endswith("{slug}/"):
        existing = list(operation_model(operation).values_list("slug", flat=True)[:20])
        yield (
            "existing",
            st.sampled_from(existing).flatmap(
                lambda slug: operation.as_strategy(path_parameters={"slug": slug})
            ),
        )


def operation_model(operation):
    resource = operation.path.removeprefix(API).split("/")[0]
    if resource == "initiatives":
        return Initiative.objects.published()
    if resource == "organisations":
        return Organisation.objects.public()
    return TAXONOMIES[resource.removesuffix("s")].objects.all()


def test_api_conforms_to_its_schema(api_schema, capsys):
    """No 5xx, and every response (status, content type, headers, body) as the schema says,
    for generated valid and invalid requests to every operation."""
    requests, statuses, failures = Counter(), Counter(), {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 14
    for operation in operations:
        for mode, strategy in strategies(operation):

            @STRICT
            @given(case=strategy)
            def check(case):
                response = case.call()
                requests[case.operation.label] += 1
                statuses[response.status_code] += 1
                case.validate_response(response)

            try:
                check()
            except Unsatisfiable:
                pass  # nothing invalid to send (an operation without parameters)
            except Exception as exc:
                failures[f"{operation.label} ({mode})"] = exc
    with capsys.disabled():
        print(
            f"\nschemathesis: {sum(requests.values())} requests over {len(requests)} "
            f"operations on {connection.vendor} (statuses {dict(sorted(statuses.items()))}), "
            f"{len(failures)} failures"
        )
    assert not failures, "\n\n".join(f"{name}:\n{exc}" for name, exc in failures.items())
