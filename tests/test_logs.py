"""Request ids and JSON logs (catalogue/logs.py)."""

import io
import json
import logging
import re

import pytest
from django.test import Client

from catalogue import logs

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.fault_urls")]

HEX_ID = re.compile("[0-9a-f]{32}")


@pytest.fixture
def log_lines(settings):
    """The JSON lines logged while the test runs, as settings.LOGGING writes them."""
    settings.DEBUG = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JSONFormatter())
    handler.addFilter(logs.RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


@pytest.fixture
def client():
    client = Client()
    client.raise_request_exception = False
    return client


def test_each_request_logs_one_json_line_with_its_id(client, log_lines):
    response = client.get("/no-such-page/", {"q": "housing"}, headers={"Cookie": "sessionid=x"})
    request_id = response["X-Request-ID"]
    assert HEX_ID.fullmatch(request_id)
    lines = log_lines()
    # Django's own "Not Found" line is not repeated.
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["request_id"] == request_id
    assert line["level"] == "INFO"
    assert line["logger"] == "catalogue.requests"
    assert line["method"] == "GET"
    assert line["path"] == "/no-such-page/"
    assert line["query"] == "q=housing"
    assert line["status"] == 404
    assert line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert "sessionid" not in json.dumps(line)


def test_a_safe_incoming_id_is_kept(client, log_lines):
    given = "3f2a1c9e-6c1b-4b0e-9d7e-2a4b5c6d7e8f"  # a load balancer's
    response = client.get("/no-such-page/", headers={"X-Request-ID": given})
    assert response["X-Request-ID"] == given
    assert log_lines()[0]["request_id"] == given


@pytest.mark.parametrize(
    "given", ["has space", "a" * 129, '"quoted"', "line\\nbreak", "<script>", "é", ""]
)
def test_an_unsafe_incoming_id_is_replaced(client, log_lines, given):
    response = client.get("/no-such-page/", headers={"X-Request-ID": given})
    assert HEX_ID.fullmatch(response["X-Request-ID"])
    assert log_lines()[0]["request_id"] == response["X-Request-ID"]


def test_secret_looking_query_values_are_not_logged(client, log_lines):
    client.get("/no-such-page/", {"theme": "cloud", "token": "s3cret", "api_key": "k"})
    line = log_lines()[0]
    assert line["query"] == "theme=cloud&token=REDACTED&api_key=REDACTED"
    assert "s3cret" not in json.dumps(line)


def test_a_500_logs_the_exception_with_the_request_id(client, log_lines):
    response = client.get("/fault/500/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    lines = log_lines()
    assert {line["request_id"] for line in lines} == {request_id}
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    assert error["logger"] == "django.request"
    assert "Traceback" in error["exception"]
    assert "RuntimeError: boom" in error["exception"]
    assert error["status_code"] == 500
    assert "request" not in error  # Django's request object, with the unredacted query
    (request_line,) = [line for line in lines if line["logger"] == "catalogue.requests"]
    assert request_line["status"] == 500


def test_a_database_outage_logs_one_warning_and_no_traceback(client, log_lines):
    response = client.get("/fault/503/")
    assert response.status_code == 503
    (line,) = log_lines()
    assert line["level"] == "WARNING"
    assert line["request_id"] == response["X-Request-ID"]
    assert line["status"] == 503
    assert line["error"].startswith("database unavailable: connection to server failed")
    assert "exception" not in line


def test_lines_outside_a_request_have_no_id(log_lines):
    logging.getLogger("catalogue.test").warning("hello %s", "world", extra={"count": 3})
    (line,) = log_lines()
    assert line["message"] == "hello world"
    assert line["request_id"] is None
    assert line["count"] == 3


def test_values_json_cannot_hold_are_written_as_text(log_lines):
    logging.getLogger("catalogue.test").info("x", extra={"when": object()})
    assert log_lines()[0]["when"].startswith("<object object")


def test_the_text_format_has_the_request_id_too():
    record = logging.makeLogRecord({"msg": "hello", "levelname": "INFO", "name": "x"})
    logs.RequestIdFilter().filter(record)
    assert "[None] hello" in logs.TextFormatter().format(record)


def test_a_wrong_host_is_one_line_not_a_traceback(client, log_lines):
    response = client.get("/", headers={"Host": "scanner.example"})
    assert response.status_code == 400
    lines = log_lines()
    assert len(lines) == 1, lines
    assert lines[0]["status"] == 400
    assert lines[0]["request_id"] == response["X-Request-ID"]
    assert "exception" not in lines[0]


@pytest.mark.urls("catalogue.urls")
def test_too_many_fields_is_one_warning_line_not_a_traceback(client, log_lines, settings):
    # As a scanner sends it: a list URL with more parameters than Django will parse.
    fields = {f"f{number}": "x" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client.get("/initiatives/", fields)
    assert response.status_code == 400
    lines = log_lines()
    warnings = [line for line in lines if line["level"] == "WARNING"]
    assert len(warnings) == 1, lines
    assert warnings[0]["logger"] == "django.security.TooManyFieldsSent"
    assert warnings[0]["message"].startswith("TooManyFieldsSent: The number of GET/POST")
    assert warnings[0]["request_id"] == response["X-Request-ID"]
    assert not any(line["level"] in ("ERROR", "CRITICAL") for line in lines), lines
    assert not any("exception" in line for line in lines), lines


@pytest.mark.parametrize("name", ["pwd", "user_pwd", "passwd", "Credential", "otp", "jwt"])
def test_password_like_names_are_redacted(client, log_lines, name):
    client.get("/no-such-page/", {name: "hunter2", "q": "housing"})
    line = log_lines()[0]
    assert "hunter2" not in json.dumps(line)
    assert "q=housing" in line["query"]


@pytest.mark.urls("catalogue.urls")
def test_a_forbidden_admin_lookup_is_one_warning_line(log_lines):
    from tests.admin_support import client_for, member_of

    client = client_for(member_of("Editors", "edna"))
    client.raise_request_exception = False
    response = client.get("/admin/catalogue/initiative/", {"_to_field": "password"})
    assert response.status_code == 400
    lines = log_lines()
    warnings = [line for line in lines if line["level"] == "WARNING"]
    assert [line["logger"] for line in warnings] == ["django.security.DisallowedModelAdminToField"]
    assert not any(line["level"] in ("ERROR", "CRITICAL") for line in lines), lines
    assert not any("exception" in line for line in lines), lines
