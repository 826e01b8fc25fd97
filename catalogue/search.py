"""Full-text search over initiatives.

PostgreSQL (production): a stored, weighted tsvector (title A, summary B, narrative and the
lead and partner organisations' names C) kept current by database triggers (migration 0002),
queried with websearch_to_tsquery and highlighted with ts_headline.

SQLite (the embedded default): the same websearch syntax ("quoted phrases", -word, or) parsed
here and matched case-insensitively over the same fields.

Relevance, on both: the matches whose title alone matches the query first, then those whose
summary alone does, then the rest; newest first within each (then by id). Until 2026-12 it was
ts_rank over the whole weighted vector on PostgreSQL, which reads and scores every match's full
vector (about 1.7 kB, mostly out of line): 14 s for a common word at 1,000,000 initiatives.
The tiers keep what ts_rank mostly decided (a title hit, weight A, outranks a summary hit, B,
which outranks the narrative's, C) and drop what it added within a tier (how often the words
occur, so long narratives won), and the first page of a common word can then be found by
walking the default order (docs/scaling.md, "Search at a million").

For the list on PostgreSQL two narrow copies kept by triggers (migration 0015) serve the
search of a large share of the catalogue without reading the wide initiative rows:
matching_ids() (the facet index's counts and total) and ranked_ids() (the page's rows).
"""

import re
import sys
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from django.contrib.postgres.search import (
    SearchQuery,
    SearchVector,
    SearchVectorExact,
)
from django.db import connection, connections, transaction
from django.db.models import Case, IntegerField, Q, Value, When
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
    """Best matches first: title matches, then summary matches, then the rest; newest first
    within each. ranked_ids() gives the same order from the narrow copies."""
    if uses_postgres():
        query = _query(text)
        score = Case(
            When(SearchVectorExact(SearchVector("title", config=CONFIG), query), then=Value(3)),
            When(SearchVectorExact(SearchVector("summary", config=CONFIG), query), then=Value(2)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return queryset.annotate(rank=score).order_by("-rank", "-published_at", "pk")
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


def highlights(summaries, text):
    """{id: the summary as safe HTML with the searched words in <mark>} for `summaries`
    ({id: summary}): by ts_headline on PostgreSQL (which stems as the search does; run on
    these rows only, as it is costly), by marking the words as typed elsewhere."""
    if not uses_postgres():
        return {pk: highlight(summary, text) for pk, summary in summaries.items()}
    from catalogue import routing

    # ts_headline as one plain statement (the ORM's SearchHeadline took longer to build
    # than PostgreSQL to run), on the database public reads go to.
    with connections[routing.read_alias()].cursor() as cursor:
        cursor.execute(HEADLINE_SQL, [text, HEADLINE_OPTIONS, list(summaries)])
        rows = cursor.fetchall()
    return {
        pk: mark_safe(escape(headline).replace(START, "<mark>").replace(STOP, "</mark>"))
        for pk, headline in rows
    }


HEADLINE_SQL = f"""
SELECT id, ts_headline('{CONFIG}'::regconfig, summary,
                       websearch_to_tsquery('{CONFIG}'::regconfig, %s), %s)
  FROM catalogue_initiative
 WHERE id = ANY(%s)"""
HEADLINE_OPTIONS = f"StartSel='{START}', StopSel='{STOP}', HighlightAll=true"


def highlight(summary, text):
    """The summary as safe HTML with the searched words (as typed) in <mark>."""
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


# -- the narrow copies (PostgreSQL; migration 0015) ------------------------------------------

# Up to this many allowed ids, a page is ranked by one statement over exactly those ids;
# beyond it, by walking the tiers in the default order until the page is full.
FEW = 20_000  # allowed ids that one statement may rank (more: walk the tiers)
STATEMENT_ALWAYS = 500  # allowed ids that one statement always ranks
WALK_ROWS = 200  # the first walk's LIMIT, at least
MEMO_SIZE = 32
_memo = OrderedDict()  # {(catalogue version, text): FrozenBitMap}
_memo_lock = threading.Lock()

SETTINGS_SQL = """
SELECT (SELECT number FROM catalogue_catalogueversion WHERE id = 1)
  FROM set_config('work_mem', '64MB', true) AS work_mem,
       set_config('enable_seqscan', 'off', true) AS seqscan
"""
MATCHING_SQL = """
SELECT string_agg(int4send(initiative_id::int4), ''::bytea)
  FROM catalogue_search_match
 WHERE document @@ websearch_to_tsquery(%s::regconfig, %s)
"""


def matching_ids(text):
    """The ids of the initiatives (of any status: intersect with the published ones) that
    `text` matches, as a FrozenBitMap: the same matches as search().

    On PostgreSQL from catalogue_search_match: a bitmap scan of its GIN index and of its small
    table (the vectors are out of line and never read unless the query needs a recheck), the
    ids sent as one bytea. Kept per process for the catalogue version read in the same
    snapshot, so the counts and the page of one request, and later requests of the same
    version, compute it once; a write moves the version and so leaves the memo behind. Read
    inside a transaction (not a public request's case), it is not kept.
    """
    from pyroaring import FrozenBitMap

    if not uses_postgres():
        from catalogue.models import Initiative

        found = search(Initiative.objects.all(), text).order_by().values_list("pk", flat=True)
        return FrozenBitMap(found.iterator(chunk_size=50_000))
    from catalogue import caching, routing

    if connections[routing.read_alias()].in_atomic_block:
        return _read_matching(text)[1]  # nothing is kept from inside a transaction
    version = caching.current_version()
    with _memo_lock:
        ids = _memo.get((version, text))
        if ids is not None:
            _memo.move_to_end((version, text))
            return ids
    version, ids, committed = _read_matching(text)
    if version is not None and committed:
        with _memo_lock:
            _memo[version, text] = ids
            while len(_memo) > MEMO_SIZE:
                _memo.popitem(last=False)
    return ids


def request_matching_ids(text):
    """matching_ids(text), read once per request: the facet index's filter and the ranking
    of the page both ask."""
    from catalogue import caching

    return caching.per_request(("matching-ids", text), lambda: matching_ids(text))


def _read_matching(text):
    from pyroaring import FrozenBitMap

    from catalogue import routing

    using = routing.read_alias()
    db = connections[using]
    version, snapshot = None, not db.in_atomic_block
    if snapshot:
        with transaction.atomic(using=using), db.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            # An exact bitmap (no lossy pages, whose every row would be rechecked by reading
            # its out-of-line vector), and never a sequential scan: the planner does not count
            # the reading of out-of-line vectors, so it takes a scan of the small table for
            # cheap. For this transaction only; and the version, in the ids' snapshot.
            cursor.execute(SETTINGS_SQL)
            (version,) = cursor.fetchone()
            cursor.execute(MATCHING_SQL, [CONFIG, text])
            (packed,) = cursor.fetchone()
    else:
        # Inside a transaction (a test's, a command's), which goes on as it was: what it reads
        # may yet be rolled back, and the version number with it, so nothing is kept.
        with db.cursor() as cursor:
            cursor.execute(MATCHING_SQL, [CONFIG, text])
            (packed,) = cursor.fetchone()
    values = array("I")
    if packed:
        values.frombytes(bytes(packed))
        if sys.byteorder == "little":
            values.byteswap()  # int4send is big-endian
    return version, FrozenBitMap(values), snapshot


def forget():
    """Drop the memo of matching ids (tests)."""
    with _memo_lock:
        _memo.clear()


TIER_SQL = """
SELECT initiative_id FROM catalogue_search_rank
 WHERE {condition}
 ORDER BY published_at DESC, initiative_id
 LIMIT %s
"""
TIERS = (
    "title @@ websearch_to_tsquery(%s::regconfig, %s)",
    "summary @@ websearch_to_tsquery(%s::regconfig, %s)",
)
FEW_SQL = """
SELECT initiative_id FROM catalogue_search_rank
 WHERE initiative_id = ANY(%s::bigint[])
 ORDER BY CASE WHEN title @@ websearch_to_tsquery(%s::regconfig, %s) THEN 3
               WHEN summary @@ websearch_to_tsquery(%s::regconfig, %s) THEN 2
               ELSE 1 END DESC,
          published_at DESC, initiative_id
 LIMIT %s OFFSET %s
"""


def ranked_page(filterset, page):
    """The ids of a page (a Paginator's page of filterset.results) in rank()'s order, from
    the narrow copies, when the page is a search by relevance on PostgreSQL and the process's
    facet index describes the request's catalogue (it gives the ids the filters select);
    otherwise None: take the page from the sorted SQL. For the list and the API."""
    if not (filterset.query and filterset.current_sort == "relevance" and uses_postgres()):
        return None
    from catalogue import facet_index

    index = facet_index.current(getattr(filterset, "request", None))
    if index is None:
        return None
    allowed = index.results(filterset)
    start = (page.number - 1) * page.paginator.per_page
    # The index's filter read them for this request: no second query, even inside a
    # transaction, where matching_ids() keeps nothing.
    matches = len(request_matching_ids(filterset.query))
    return ranked_ids(filterset.query, allowed, start, page.end_index(), matches)


def in_order(queryset, ids):
    """The rows of `queryset` with these ids, in their order."""
    by_id = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def ranked_ids(text, allowed, start, stop, matches=None):
    """Ids start to stop (0-based, stop excluded) of `allowed` (a BitMap: the filtered
    matches of `text`, of which there are `matches` unfiltered) in rank()'s order, from
    catalogue_search_rank (PostgreSQL).

    A few allowed ids: one statement over them. Many: the title matches newest first, walked
    down the table's index in that order (or found through its GIN index when few), keeping
    the allowed ones until the page is full; then the summary matches; then the rest. A common
    word's first page so reads a few hundred short rows, whatever the catalogue's size.
    """
    from pyroaring import BitMap

    from catalogue import routing

    with connections[routing.read_alias()].cursor() as cursor:
        if _by_statement(len(allowed), stop, matches):
            return _few(cursor, text, allowed, start, stop)
        found, seen = [], set()
        for condition in TIERS:
            _walk(cursor, condition, [CONFIG, text], allowed, seen, found, stop)
            if len(found) >= stop:
                return found[start:stop]
        rest = allowed - BitMap(seen)
        if len(rest) <= FEW:
            found += _few(cursor, text, rest, 0, stop - len(found))
        else:
            _walk(cursor, "TRUE", [], allowed, seen, found, stop)
        return found[start:stop]


def _by_statement(allowed, stop, matches):
    """Whether one statement over the `allowed` ids ranks them for less than walking the
    tiers would: it reads each allowed row (about 0.6 µs each), where a walk reads about
    `stop` rows divided by the share of the matches the filters allow, and at least 200.
    At 10,000 initiatives the walk halved the mean time of the varied searches' ranking."""
    if allowed <= min(FEW, STATEMENT_ALWAYS) or matches is None:
        return allowed <= FEW
    walked = max(WALK_ROWS, 4 * stop * matches / allowed)
    return allowed <= FEW and allowed <= walked


def _few(cursor, text, ids, start, stop):
    if stop <= start or not ids:
        return []
    # As an array's text: psycopg's list dumper took 2 ms of CPU for 3,000 ids, this 0.1 ms.
    ids = "{" + ",".join(map(str, ids)) + "}"
    cursor.execute(FEW_SQL, [ids, CONFIG, text, CONFIG, text, stop - start, start])
    return [pk for (pk,) in cursor.fetchall()]


def _walk(cursor, condition, params, allowed, seen, found, stop):
    """Append to `found` the allowed ids not yet `seen` that meet `condition`, in the
    default order, until `found` holds `stop` ids or the condition's rows run out."""
    wanted = stop - len(found)
    limit = max(4 * wanted, WALK_ROWS)
    sql = TIER_SQL.format(condition=condition)
    while True:
        cursor.execute(sql, [*params, limit])
        rows = [pk for (pk,) in cursor.fetchall()]
        picked = [pk for pk in rows if pk in allowed and pk not in seen]
        if len(picked) >= wanted or len(rows) < limit:
            picked = picked[:wanted]
            found += picked
            seen.update(picked)
            return
        limit *= 4
