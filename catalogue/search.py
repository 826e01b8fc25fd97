"""Full-text search over initiatives.

PostgreSQL (production): a stored, weighted tsvector (title A, summary B, narrative and the
lead and partner organisations' names C) kept current by database triggers (migration 0002),
queried with websearch_to_tsquery, ranked with ts_rank and highlighted with ts_headline.

SQLite (the embedded default): the same websearch syntax ("quoted phrases", -word, or) parsed
here and matched case-insensitively over the same fields, ranked title > summary > the rest.
"""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils.html import escape
from django.utils.safestring import mark_safe

CONFIG = "english"
# Private-use characters mark highlights inside ts_headline's output, so the text can be
# escaped first and the marks turned into <mark> afterwards.
START, STOP = "\ue000", "\ue001"
SEARCHED_TEXT = ("title", "summary", "challenge", "approach", "results", "lessons")


def uses_postgres():
    return connection.vendor == "postgresql"


@dataclass(frozen=True)
class QueryWord:
    """A word or quoted phrase of a search, and whether it is excluded (-word)."""

    text: str
    negated: bool = False


def parse(text):
    """websearch_to_tsquery's syntax as alternatives (OR) of conjunctions (AND) of terms."""
    groups, current = [], []
    for quoted, word in re.findall(r'(-?"[^"]*"?)|(\S+)', text):
        token = quoted or word
        if token.lower() == "or":
            if current:
                groups.append(current)
            current = []
            continue
        negated = token.startswith("-") and len(token) > 1
        token = token.removeprefix("-") if negated else token
        token = token.strip('"').strip()
        if token:
            current.append(QueryWord(token, negated))
    if current:
        groups.append(current)
    return groups


def _matches(term):
    from catalogue.models import Partnership

    condition = Q(lead_organisation__name__icontains=term.text)
    for field in SEARCHED_TEXT:
        condition |= Q(**{f"{field}__icontains": term.text})
    partners = Partnership.objects.filter(organisation__name__icontains=term.text)
    condition |= Q(pk__in=partners.values("initiative"))
    return ~condition if term.negated else condition


def search(queryset, text):
    """Initiatives matching `text`, unordered."""
    if uses_postgres():
        return queryset.filter(search_vector=_query(text))
    alternatives = Q()
    groups = parse(text)
    for group in groups:
        conjunction = Q()
        for term in group:
            conjunction &= _matches(term)
        alternatives |= conjunction
    return queryset.filter(alternatives) if groups else queryset


def rank(queryset, text):
    """Best matches first: on PostgreSQL by ts_rank; on SQLite title, then summary matches."""
    if uses_postgres():
        return queryset.annotate(rank=SearchRank(F("search_vector"), _query(text))).order_by(
            "-rank", "-published_at", "pk"
        )
    positive = [term.text for group in parse(text) for term in group if not term.negated]
    if not positive:
        return queryset.order_by("-published_at", "pk")

    def all_in(field):
        condition = Q()
        for word in positive:
            condition &= Q(**{f"{field}__icontains": word})
        return condition

    score = Case(
        When(all_in("title"), then=Value(3)),
        When(all_in("summary"), then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return queryset.annotate(rank=score).order_by("-rank", "-published_at", "pk")


def with_headline(queryset, text):
    """Annotate `headline`: the summary with matching words marked (PostgreSQL only)."""
    if not uses_postgres():
        return queryset
    return queryset.annotate(
        headline=SearchHeadline(
            "summary",
            _query(text),
            config=CONFIG,
            start_sel=START,
            stop_sel=STOP,
            highlight_all=True,
        )
    )


def highlight(initiative, text):
    """The summary as safe HTML with the searched words in <mark>."""
    headline = getattr(initiative, "headline", None)
    if headline is not None:
        marked = escape(headline).replace(START, "<mark>").replace(STOP, "</mark>")
        return mark_safe(marked)
    summary = initiative.summary
    words = sorted(
        {t.text for group in parse(text) for t in group if not t.negated}, key=len, reverse=True
    )
    if not words:
        return escape(summary)
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    parts, last = [], 0
    for match in pattern.finditer(summary):
        parts += [escape(summary[last : match.start()]), f"<mark>{escape(match.group(0))}</mark>"]
        last = match.end()
    parts.append(escape(summary[last:]))
    return mark_safe("".join(parts))


def _query(text):
    return SearchQuery(text, search_type="websearch", config=CONFIG)
