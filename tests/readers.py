"""Reading the catalogue back, for the tests: its public outputs (the CSV and JSON exports,
the list page across every page, Atom and sitemaps), every row of its tables, and the
export_catalogue and import_catalogue commands run with their output captured."""

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET

from django.apps import apps
from django.core.management import call_command

from catalogue import exports

LIST = "/initiatives/"


RESULT = re.compile(
    r'<li class="app-result">\s*<h\d class="govuk-heading-m"><a class="govuk-link" '
    r'href="/initiatives/([^/"]+)/">'
)
RESULT_LEAD = re.compile(r'<p class="govuk-body-s app-result__meta">\s*([^·<]*?)\s*(?:·|</p>)')


def result_slugs(response):
    """The slugs of the results a list page shows, in order, read from its HTML."""
    return RESULT.findall(response.text)


def result_leads(response):
    """The lead organisations the results of a list page name, in order (unescaped)."""
    return [html.unescape(lead) for lead in RESULT_LEAD.findall(response.text)]


def body(response):
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def csv_rows(response):
    text = body(response).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def csv_records(response):
    header, *rows = csv_rows(response)
    assert header == exports.COLUMNS
    return [dict(zip(header, row, strict=True)) for row in rows]


def json_document(response):
    return json.loads(body(response))


def listed(client, query):
    """(total, slugs over every page, problems) as the HTML list shows them for `query`."""
    slugs, page = [], 1
    while True:
        response = client.get(LIST, {**query, "page": str(page)})
        assert response.status_code == 200
        slugs += result_slugs(response)
        if not response.context["page_obj"].has_next():
            break
        page += 1
    problems = [p for p in response.context["problems"] if not p.startswith("There is no page")]
    return response.context["total"], slugs, problems


def xml_of(response):
    assert response.status_code == 200
    return ET.fromstring(response.content)


# What the database derives, so neither exported nor compared.
DERIVED = {"search_vector"}


def snapshot():
    """Every row of every catalogue model, field by field, with the id sets of its
    many-to-many fields; read generically from _meta, so that a field or model added later
    is compared too (and a round trip that forgets it fails)."""
    data = {}
    for model in apps.get_app_config("catalogue").get_models():
        meta = model._meta
        if not meta.managed:
            continue  # the catalogue version row, which is not catalogue data
        attnames = [f.attname for f in meta.concrete_fields if f.name not in DERIVED]
        rows = {row[meta.pk.attname]: row for row in model._default_manager.values(*attnames)}
        for m2m in meta.many_to_many:
            for row in rows.values():
                row[m2m.name] = set()
            for pk, target in model._default_manager.values_list("pk", m2m.name):
                if target is not None:
                    rows[pk][m2m.name].add(target)
        data[meta.label] = rows
    return data


def export(path, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_catalogue", str(path), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def import_(path, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalogue", str(path), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()
