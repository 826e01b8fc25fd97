"""CSV and JSON exports of exactly the set the initiative list shows, every page of it.

`/initiatives/export.csv` and `/initiatives/export.json` take the list's query string as it
is (`page` is ignored) and select, through `InitiativeFilter.results`, the same published
records in the same order. Both stream: the matching ids are read first (8 bytes each), then
the records CHUNK_SIZE at a time, nine queries a chunk, so memory does not grow with the
catalogue. The set is fixed when the export starts: a record published meanwhile is not in
it, and one unpublished meanwhile is left out (never leaked), one fewer than the count says.

Columns (CSV header names; JSON keys), in this order:

    slug, title, summary, challenge, approach, results, lessons (the narrative, as the
    Markdown the API's detail gives), url (the case study's page), lead_organisation,
    lead_organisation_kind, partners (organisation and role), sector, stage, themes, drivers,
    outcomes, barriers, countries (ISO 3166 codes), places (country, or UK nation or region),
    start_year, end_year, evidence_level, innovation_type, collaboration, funding, website,
    metrics, sources, quotes, first_published, last_updated

- An organisation its source does not name reads as the site shows it ("A city, not named
  in the source"). A metric names its source and quotes its passage; `quotes` holds every
  passage the record quotes from its sources, with its locator and the source's title.

- Choices and vocabularies are written as their names as the site shows them ("Local
  authority", "Pilot", "Open data"), not as codes.
- Timestamps are ISO 8601 in UTC to the second (2026-11-25T15:20:22Z); dates are YYYY-MM-DD.
- JSON: one object, {"count", "query" (the filters applied and the sort), "problems",
  "generated_at", "source" (name, list URL, attribution), "coverage" (for each facet, how
  many of the records record it at all: {"driver": {"label", "recorded", "of"}}),
  "initiatives": [...]}. Lists are arrays; partners, metrics and sources are objects; a
  missing year or sector is null, as is a website or source URL that is not http(s) (none,
  or a stored `javascript:` or `data:` link: one rule with the API); missing text is "".
  A metric's value is a decimal string ("25", "-1.5"), so it stays exact; its "display" is
  how the site shows it ("25% decrease").

CSV conventions (RFC 4180: comma-separated, CRLF line ends, fields with commas, quotes or
line breaks quoted, quotes doubled):

- UTF-8 with a byte order mark. Excel (the tool most readers of a public-sector catalogue
  open a CSV with) reads a file without one in the machine's legacy code page and garbles
  every accented name; pandas and readr skip the mark, and Python reads it with
  encoding="utf-8-sig".
- A list is one cell, its items separated by "; ". Inside an item a backslash is written
  "\\\\" and a semicolon "\\;", so `split_items` gives the items back exactly.
  Partners are "Organisation (Role)"; metrics "Label: 25% decrease, compared with
  BASELINE, over PERIOD"; sources "Title, Author, Publisher, YYYY-MM-DD <URL>" (parts that
  are empty left out). The JSON has each part separately.
- Against spreadsheet formula injection (OWASP), every cell starting with =, +, -, @, a tab
  or a carriage return gets a leading apostrophe. So does a cell already starting with an
  apostrophe, which makes the rule reversible: drop one leading apostrophe from any cell
  that has one and the value is exactly what the JSON holds.

Unusable filter values are dropped, as on the list, never a 500. What was dropped is in the
JSON's "problems" and, for both formats, in the X-Filter-Problems response header (a JSON
array of the same sentences, ASCII-escaped). X-Result-Count gives the number of records and
a Link header (rel="alternate") the list page showing the same set.
"""

import csv
import functools
import io
import json
from array import array
from collections import defaultdict
from datetime import UTC
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.db import connection, models
from django.db.models import F, Func, Q, Value
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from catalogue import facets, limits

# split_items is the CSV conventions' inverse, kept importable from here for their readers.
from catalogue.csv_cells import SEPARATOR, escape_item, item_text, neutralise, split_items  # noqa: F401
from catalogue.filters import InitiativeFilter
from catalogue.models import Initiative, Metric, Organisation, Partnership, Place, Quote, Source
from catalogue.templatetags.catalogue import web_link
from catalogue.vocabularies import VOCABULARIES

CHUNK_SIZE = 1000
COLUMNS = [
    "slug",
    "title",
    "summary",
    "challenge",
    "approach",
    "results",
    "lessons",
    "url",
    "lead_organisation",
    "lead_organisation_kind",
    "partners",
    "sector",
    "stage",
    "themes",
    "drivers",
    "outcomes",
    "barriers",
    "countries",
    "places",
    "start_year",
    "end_year",
    "evidence_level",
    "innovation_type",
    "collaboration",
    "funding",
    "website",
    "metrics",
    "sources",
    "quotes",
    "first_published",
    "last_updated",
]
# The case study's story, in the API detail's words (Markdown, as written).
NARRATIVE = ["challenge", "approach", "results", "lessons"]
# The X-Filter-Problems header stays well under what proxies accept.
MAX_PROBLEMS_HEADER = 4000
ATTRIBUTION = (
    "Compiled by {name}. Each case study's facts come from the sources it cites: cite those "
    "sources as well as this catalogue."
)


# -- records --------------------------------------------------------------------------------

# What one query a chunk reads of the initiatives themselves, with lead and sector joined.
OWN_FIELDS = [
    "id",
    "slug",
    "title",
    "summary",
    "challenge",
    "approach",
    "results",
    "lessons",
    "stage",
    "start_year",
    "end_year",
    "evidence_level",
    "innovation_type",
    "collaboration_type",
    "funding",
    "website",
    "published_at",
    "updated_at",
]
JOINED = {
    "lead": F("lead_organisation__name"),
    "lead_unnamed": F("lead_organisation__unnamed"),
    "kind": F("lead_organisation__kind"),
    "sector_name": F("sector__name"),
}
# The vocabularies with several terms to an initiative: {Initiative field: term field}.
TAGS = {v.field: v.name for v in VOCABULARIES if v.many}
# Labels as get_FOO_display() gives them (the stored value when there is none).
KINDS = dict(Organisation.Kind.choices)
STAGES = dict(Initiative.Stage.choices)
EVIDENCE = dict(Initiative.EvidenceLevel.choices)
INNOVATION = dict(Initiative.InnovationType.choices)
COLLABORATION = dict(Initiative.CollaborationType.choices)
FUNDING = dict(Initiative.Funding.choices)
ROLES = dict(Partnership.Role.choices)
DIRECTIONS = dict(Metric.Direction.choices)


def timestamp(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def day(value):
    return value.isoformat() if value else None


def grouped(queryset, *fields):
    """{initiative id: [values, ...]}, in the queryset's order."""
    groups = defaultdict(list)
    for initiative, *values in queryset.values_list("initiative", *fields):
        groups[initiative].append(values[0] if len(values) == 1 else values)
    return groups


@functools.cache
def place_name(country, region):
    return str(Place(country=country, region=region))


def source(title, author, publisher, url, published_on, accessed_on):
    return {
        "title": title,
        "author": author,
        "publisher": publisher,
        "url": web_link(url) or None,
        "published_on": day(published_on),
        "accessed_on": day(accessed_on),
    }


def organisation_name(name, unnamed):
    return str(Organisation(name=name, unnamed=unnamed))


def quote_item(text, locator, source_title):
    return {"text": text, "locator": locator, "source": source_title}


def metric(label, value, unit, direction, baseline, period, source_title, quote_text):
    number = Metric(value=value, unit=unit, direction=direction)
    return {
        "label": label,
        "value": f"{Decimal(value).normalize():f}",
        "unit": unit,
        "direction": DIRECTIONS.get(direction, direction),
        "display": number.display_value,
        "baseline": baseline,
        "period": period,
        "source": source_title,
        "quote": quote_text,
    }


class AnyOf(Func):
    """PostgreSQL's `column = ANY(array)`."""

    arg_joiner = " = ANY("
    template = "(%(expressions)s))"
    output_field = models.BooleanField()


def among(field, ids):
    """`field IN ids`, on PostgreSQL as `= ANY(array)`: psycopg binds one array parameter in
    a third of the time it takes over a thousand placeholders, nine times a chunk."""
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": ids})
    # A plain list: psycopg sends it as an array, without Django preparing each element.
    return AnyOf(F(field), Value(ids))


def records(ids, origin):
    """The published initiatives with these ids, in this order, as the JSON writes them.

    Values, not model instances: the ORM's prefetch (with_detail) took about 1 ms a record and
    100 MB more memory at its peak; these nine queries a chunk take a quarter of the time and
    20 MB (bench/export.py).
    The orders are the models' own (tags by name, places by country and region, partners by
    role and name, metrics as entered, sources by date). Re-filtering to published means a
    record unpublished while an export runs is left out rather than leaked.
    """
    rows = Initiative.objects.published().filter(among("pk", ids)).order_by()
    by_id = {row["id"]: row for row in rows.values(*OWN_FIELDS, **JOINED)}
    ids = [pk for pk in ids if pk in by_id]
    # reverse() once, not for each record: it costs more than the rest of a record.
    path = reverse("initiative-detail", kwargs={"slug": "slug-placeholder"})
    before, _, after = path.partition("slug-placeholder")
    tags = {
        name: grouped(
            getattr(Initiative, name)
            .through.objects.filter(among("initiative", ids))
            .order_by(f"{term}__name"),
            f"{term}__name",
        )
        for name, term in TAGS.items()
    }
    places = grouped(
        Initiative.places.through.objects.filter(among("initiative", ids)).order_by(
            "place__country", "place__region"
        ),
        "place__country",
        "place__region",
    )
    partners = grouped(
        Partnership.objects.filter(among("initiative", ids)).order_by("role", "organisation__name"),
        "organisation__name",
        "organisation__unnamed",
        "role",
    )
    metrics = grouped(
        Metric.objects.filter(among("initiative", ids)).order_by("pk"),
        "label",
        "value",
        "unit",
        "direction",
        "baseline",
        "period",
        "source__title",
        "quote__text",
    )
    quotes = grouped(
        Quote.objects.filter(among("initiative", ids)).order_by(
            "source__published_on", "source", "pk"
        ),
        "text",
        "locator",
        "source__title",
    )
    sources = grouped(
        Source.objects.filter(among("initiative", ids)).order_by("published_on", "pk"),
        "title",
        "author",
        "publisher",
        "url",
        "published_on",
        "accessed_on",
    )
    for pk in ids:
        row = by_id[pk]
        where = places.get(pk, [])
        yield {
            "slug": row["slug"],
            "title": row["title"],
            "summary": row["summary"],
            **{part: row[part] for part in NARRATIVE},
            "url": f"{origin}{before}{quote(row['slug'])}{after}",
            "lead_organisation": organisation_name(row["lead"], row["lead_unnamed"]),
            "lead_organisation_kind": KINDS.get(row["kind"], row["kind"]),
            "partners": [
                {"organisation": organisation_name(name, unnamed), "role": ROLES.get(role, role)}
                for name, unnamed, role in partners.get(pk, [])
            ],
            "sector": row["sector_name"],
            "stage": STAGES.get(row["stage"], row["stage"]),
            **{name: tags[name].get(pk, []) for name in TAGS},
            "countries": list(dict.fromkeys(country for country, _ in where)),
            "places": [place_name(country, region) for country, region in where],
            "start_year": row["start_year"],
            "end_year": row["end_year"],
            "evidence_level": EVIDENCE.get(row["evidence_level"], row["evidence_level"]),
            "innovation_type": INNOVATION.get(row["innovation_type"], row["innovation_type"]),
            "collaboration": COLLABORATION.get(
                row["collaboration_type"], row["collaboration_type"]
            ),
            "funding": FUNDING.get(row["funding"], row["funding"]),
            "website": web_link(row["website"]) or None,
            "metrics": [metric(*values) for values in metrics.get(pk, [])],
            "sources": [source(*values) for values in sources.get(pk, [])],
            "quotes": [quote_item(*values) for values in quotes.get(pk, [])],
            "first_published": timestamp(row["published_at"]),
            "last_updated": timestamp(row["updated_at"]),
        }


# -- CSV cells ------------------------------------------------------------------------------


def csv_row(rec):
    """A record's CSV cells, in COLUMNS order, every one neutralised."""
    row = []
    for column in COLUMNS:
        value = rec[column]
        if value is None:
            cell = ""
        elif isinstance(value, list):
            cell = SEPARATOR.join(escape_item(item_text(column, item)) for item in value)
        else:
            cell = str(value)
        row.append(neutralise(cell))
    return row


# -- streaming ------------------------------------------------------------------------------


def matching_ids(request):
    """(filterset, ids) of what the list shows for this query, in its order, as 64-bit ints.

    Only ids are held for the whole export: 800 kB for 100,000 records.
    """
    filterset = InitiativeFilter.for_request(request)
    ids = array("q", filterset.results.values_list("pk", flat=True).iterator(chunk_size=10_000))
    return filterset, ids


def in_chunks(ids, origin):
    """The records of these ids, in this order, CHUNK_SIZE at a time: one chunk in memory."""
    for start in range(0, len(ids), CHUNK_SIZE):
        yield list(records(list(ids[start : start + CHUNK_SIZE]), origin))


def stream_csv(ids, origin):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for chunk in in_chunks(ids, origin):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(rec) for rec in chunk)
        yield buffer.getvalue()


def stream_json(head, ids, origin):
    # The head's closing brace is replaced by the array that follows it.
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "initiatives": ['
    separator = "\n"
    for chunk in in_chunks(ids, origin):
        if chunk:
            yield separator + ",\n".join(json.dumps(rec, ensure_ascii=False) for rec in chunk)
            separator = ",\n"
    yield "\n]}\n"


# -- views ----------------------------------------------------------------------------------


def export(request, extension, content_type, body):
    """The response both formats share: headers, problems, and the body streamed (GET only).

    Each export holds one of the process's export slots (catalogue/limits.py) from its first
    query to its last byte; when none is free the answer is 429 with Retry-After.
    """
    slot = limits.export_slot()
    if slot is None:
        return limits.too_many(request, settings.CATALOGUE_EXPORT_RETRY_AFTER, "exports")
    try:
        response = _export(request, extension, content_type, body)
    except BaseException:
        slot.release()
        raise
    response.streaming_content = slot.around(response.streaming_content)
    return response


def _export(request, extension, content_type, body):
    filterset, ids = matching_ids(request)
    origin = request.build_absolute_uri("/").rstrip("/")
    query = filterset.applied_values()
    list_url = origin + reverse("initiative-list") + "?" + urlencode(query, doseq=True)
    head = {
        "count": len(ids),
        "query": query,
        "problems": filterset.problems,
        "generated_at": timestamp(timezone.now()),
        "source": {
            "name": settings.CATALOGUE_NAME,
            "url": list_url,
            "attribution": ATTRIBUTION.format(name=settings.CATALOGUE_NAME),
        },
    }
    if extension == "json":
        total, counts = facets.count(filterset)
        head["coverage"] = facets.coverage(total, counts)
    content = body(head, ids, origin) if request.method == "GET" else iter(())
    response = StreamingHttpResponse(content, content_type=content_type)
    filename = f"case-studies-{timezone.localdate().isoformat()}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Result-Count"] = str(len(ids))
    problems = json.dumps(filterset.problems)
    if len(problems) > MAX_PROBLEMS_HEADER:
        problems = json.dumps(
            [f"{len(filterset.problems)} problems: see the JSON export for the list."]
        )
    response["X-Filter-Problems"] = problems
    response["Link"] = f'<{list_url}>; rel="alternate"; type="text/html"'
    # Exports are for people and scripts, not for search engines to index.
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def export_csv(request):
    return export(
        request,
        "csv",
        "text/csv; charset=utf-8; header=present",
        lambda head, ids, origin: stream_csv(ids, origin),
    )


@require_safe
def export_json(request):
    return export(request, "json", "application/json", stream_json)
