"""Where a case study's facts come from: the quoted passages behind it, numbered as the page's
footnotes, and for a record imported from Public Sector Tech Watch, what the dataset gave it."""

from dataclasses import dataclass, field

# The fields import_pstw fills from the dataset, as a reader would call them, in page order.
PSTW_FIELDS = {
    "title": "title",
    "summary": "summary",
    "approach": "what they did",
    "lead_organisation": "lead organisation",
    "places": "where",
    "nuts_code": "NUTS code",
    "sector": "sector (from its COFOG code)",
    "stage": "stage (from its status)",
    "start_year": "start year",
    "end_year": "end year",
    "website": "website",
    "themes": "themes (from its technologies)",
    "outcomes": "outcomes (from its impact flags)",
    "drivers": "driver (Technology: the dataset's inclusion rule)",
    "collaboration_type": "who they worked with",
    "funding": "funding",
    "sources": "sources",
}


@dataclass
class Note:
    number: int
    quote: object
    source: object
    source_number: int
    metrics: list = field(default_factory=list)  # those citing it, for the back-links


def footnotes(initiative):
    """The record's quotes as numbered notes, in the order of its sources.

    Sets `note` on each quote and on each metric citing one, and `number` on each source, on
    the prefetched rows the page shows (Initiative.objects.with_detail), so the template
    links a metric to its passage and back without looking anything up."""
    notes = []
    by_quote = {}
    for source_number, source in enumerate(initiative.sources.all(), start=1):
        source.number = source_number
        for quote in source.quotes.all():
            note = Note(len(notes) + 1, quote, source, source_number)
            quote.note = note
            by_quote[quote.pk] = note
            notes.append(note)
    for metric in initiative.metrics.all():
        metric.note = by_quote.get(metric.quote_id)
        if metric.note:
            metric.note.metrics.append(metric)
    return notes


def imported_fields(initiative):
    """What of the record came from Public Sector Tech Watch, as words; [] if not imported."""
    if not initiative.pstw_id:
        return []
    found = []
    for name, label in PSTW_FIELDS.items():
        value = getattr(initiative, name)
        if hasattr(value, "all"):
            value = list(value.all())
        if value not in (None, "", []):
            found.append(label)
    return found
