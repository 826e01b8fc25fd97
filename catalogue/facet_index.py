"""The facet counts of any filter combination, from an in-memory index instead of SQL.

The filter panel's counts (catalogue/facets.py) are one SQL statement that groups the link
tables of every matching initiative, once per active facet: linear in the catalogue, and the
first request of each combination pays it (a write moves the catalogue version, so every
combination is new again). This index holds, for each value of each facet, the set of
published initiatives that have it, as a compressed bitmap (pyroaring, the structure Lucene
and Meilisearch count facets with). A combination's id set is a few unions and
intersections, and each count one intersection's cardinality: microseconds, whatever the
catalogue's size.

Correctness: an index describes one catalogue version, read in one snapshot with the data
(REPEATABLE READ on PostgreSQL), and is used only by requests that read that same version;
any other request counts with SQL, as before. So it is never stale, after any write, restore,
bulk import or direct SQL (the database's triggers move the version on every write). A
process brings its index to a new version in the first request that finds the version moved,
the others waiting for it (CATALOGUE_FACET_INDEX "sync", the default): from the database's
change log (catalogue/changelog.py), reading only the initiatives changed since (Refreshed),
or, after writes that may change anything or too many changes, with a full build. With
"background" a full build runs in a thread while requests go on with SQL. The search
text (`q`) is the one filter the index cannot answer: its matching ids come from the search
SQL and are intersected with the rest.

On SQLite there is no catalogue version, so pages count with SQL; the index itself works on
both databases, and tests prove it gives exactly what the SQL gives (tests/test_facet_index.py).
"""

import copy
import logging
import threading
import time
from array import array
from collections import defaultdict
from itertools import compress, islice

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from pyroaring import BitMap

from catalogue import caching, changelog, routing, search
from catalogue.filters import SORTS
from catalogue.models import (
    CatalogueVersion,
    Initiative,
    Metric,
    Organisation,
    Partnership,
    Place,
)
from catalogue.vocabularies import BY_PARAM, VOCABULARIES, terms

logger = logging.getLogger(__name__)

# Columns of Initiative counted as facets: {facet: (column, key as the SQL gives it)}.
COLUMNS = {
    "stage": "stage",
    "evidence": "evidence_level",
    "innovation_type": "innovation_type",
    "start_year": "start_year",
}


# The sorts the index orders pages by: all but relevance, whose order is the search's.
ORDERED_SORTS = tuple(sort for sort, (_label, order) in SORTS.items() if order)
# A page is found by walking a sort's order and keeping the matching ids, about
# (offset + limit) x published / matching steps; past this many, and with few enough matches,
# the database orders the matching ids instead.
WALK_LIMIT = 50_000
ORDER_BY_IDS_LIMIT = 5_000


def _key(value):
    """A value as the counting SQL's `::text` gives it (None stays None)."""
    return None if value is None else str(value)


class FacetIndex:
    """Bitmaps of published initiative ids, by facet value, for one catalogue version."""

    def __init__(self, version):
        self.version = version
        self.published = BitMap()
        # {facet: {key: BitMap}}: keys as the counting SQL gives them (text).
        self.by = defaultdict(lambda: defaultdict(BitMap))
        # Organisations: led, took part in (any role), took part in by role.
        self.led_by = defaultdict(BitMap)
        self.partner_of = defaultdict(BitMap)
        self.partner_as = defaultdict(BitMap)  # (organisation id, role)
        self.any_partner_as = defaultdict(BitMap)  # role
        # {sort: array of published ids in that sort's order}, as the database orders them
        # (its collation for titles, its place for nulls).
        self.orders = {}
        # Ids whose state here is void (a refreshed index's base: see Refreshed); none in a
        # full build.
        self.changed = BitMap()
        self.built_in = 0.0

    # -- building -----------------------------------------------------------------------

    @classmethod
    def build(cls, using="default"):
        """Read the published catalogue and its version in one snapshot."""
        started = time.perf_counter()
        db = connections[using]
        # One snapshot for the version and the data. Inside a transaction already (a test's)
        # it is that transaction's: public views run outside one (no ATOMIC_REQUESTS).
        snapshot = db.vendor == "postgresql" and not db.in_atomic_block
        with transaction.atomic(using=using):
            if snapshot:
                with db.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            version = (
                CatalogueVersion.objects.using(using)
                .filter(pk=1)
                .values_list("number", flat=True)
                .first()
            )
            index = cls(version)
            index._read(using)
            index._read_orders(using)
        index._freeze()
        index.built_in = time.perf_counter() - started
        return index

    def _read(self, using, ids=None):
        """Read the published catalogue, or only the initiatives `ids` (an overlay)."""

        def only(queryset, field="initiative_id"):
            return queryset if ids is None else queryset.filter(**{f"{field}__in": list(ids)})

        rows = (
            only(Initiative.objects.using(using).published(), "pk")
            .order_by()
            .values_list(
                "pk",
                "sector_id",
                "lead_organisation_id",
                "lead_organisation__kind",
                *COLUMNS.values(),
            )
            .iterator(chunk_size=20_000)
        )
        by = self.by
        published = []
        for pk, sector, lead, kind, *values in rows:
            published.append(pk)
            self.led_by[lead].add(pk)
            by["sector"][_key(sector)].add(pk)
            by["kind"][kind].add(pk)
            for facet, value in zip(COLUMNS, values, strict=True):
                by[facet][_key(value)].add(pk)
        self.published = BitMap(published)
        for vocabulary in VOCABULARIES:
            if not vocabulary.many:
                continue
            field = Initiative._meta.get_field(vocabulary.field)
            through = field.remote_field.through
            pairs = (
                only(through.objects.using(using))
                .order_by()
                .values_list("initiative_id", f"{vocabulary.name}_id")
                .iterator(chunk_size=50_000)
            )
            for initiative, term in pairs:
                by[vocabulary.param][str(term)].add(initiative)
        countries = dict(Place.objects.using(using).values_list("pk", "country"))
        places = (
            only(Initiative.places.through.objects.using(using))
            .order_by()
            .values_list("initiative_id", "place_id")
            .iterator(chunk_size=50_000)
        )
        for initiative, place in places:
            by["country"][str(countries[place])].add(initiative)
        partnerships = (
            only(Partnership.objects.using(using))
            .order_by()
            .values_list("initiative_id", "organisation_id", "role")
            .iterator(chunk_size=50_000)
        )
        for initiative, organisation, role in partnerships:
            self.partner_of[organisation].add(initiative)
            self.partner_as[organisation, role].add(initiative)
            self.any_partner_as[role].add(initiative)
        measured = only(Metric.objects.using(using)).order_by()
        measured = measured.values_list("initiative_id", flat=True)
        by["measured"]["yes"] = BitMap(measured.distinct().iterator(chunk_size=50_000))

    def _read_orders(self, using):
        published = Initiative.objects.using(using).published()
        for sort in ORDERED_SORTS:
            ordered = published.order_by(*SORTS[sort][1], "pk").values_list("pk", flat=True)
            self.orders[sort] = array("I", ordered.iterator(chunk_size=50_000))

    def _freeze(self):
        """Keep published initiatives only, drop empty sets, and precompute the unions."""
        published = self.published
        frozen = {}
        for facet, values in self.by.items():
            kept = {}
            for key, ids in values.items():
                ids &= published
                if ids:
                    kept[key] = ids
            frozen[facet] = kept
        frozen["measured"] = {
            key: ids
            for key, ids in {
                "yes": frozen.get("measured", {}).get("yes", BitMap()),
                "no": published - frozen.get("measured", {}).get("yes", BitMap()),
            }.items()
            if ids
        }
        self.by = frozen
        for table in (self.led_by, self.partner_of, self.partner_as, self.any_partner_as):
            for key in list(table):
                table[key] &= published
                if not table[key]:
                    del table[key]
        self.involved = {
            organisation: self.led_by.get(organisation, BitMap())
            | self.partner_of.get(organisation, BitMap())
            for organisation in set(self.led_by) | set(self.partner_of)
        }
        covered = {
            v.param: BitMap.union(BitMap(), *self.by.get(v.param, {}).values())
            for v in VOCABULARIES
        }
        covered["sector"] = self.published - self.by.get("sector", {}).get(None, BitMap())
        covered["country"] = BitMap.union(BitMap(), *self.by.get("country", {}).values())
        covered["stage"] = self.published - self.by.get("stage", {}).get("", BitMap())
        covered["kind"] = self.published - self.by.get("kind", {}).get(
            Organisation.Kind.OTHER, BitMap()
        )
        self.covered = covered

    # -- filtering ----------------------------------------------------------------------

    def matching(self, filterset, skip=(), allowed=None):
        """The ids the filterset selects, ignoring the filters named in `skip`; `allowed`
        keeps each filter's ids between calls (the search runs once)."""
        ids = self.published
        if not (filterset.is_bound and filterset.form.is_valid()):
            return ids
        allowed = {} if allowed is None else allowed
        cleaned = filterset.form.cleaned_data
        for name, value in cleaned.items():
            if name in skip or name == "sort" or value in (None, "", []):
                continue
            if name not in allowed:
                allowed[name] = self._filter(name, value, cleaned)
            if allowed[name] is not None:
                ids = ids & allowed[name]
        return ids

    def _union(self, facet, keys):
        values = self.by.get(facet, {})
        return BitMap.union(BitMap(), *(values[key] for key in keys if key in values))

    def _filter(self, name, value, cleaned):
        """The ids one filter allows (None: any)."""
        if name in BY_PARAM:
            by_slug = terms(name)
            return self._union(name, [str(by_slug[slug].id) for slug in value if slug in by_slug])
        if name in ("stage", "kind", "evidence", "innovation_type", "country"):
            return self._union(name, [str(key) for key in value])
        if name == "measured":
            if set(value) >= {"yes", "no"}:
                return None
            return self._union("measured", [value[0]])
        if name in ("year_from", "year_to"):
            years = [key for key in self.by.get("start_year", {}) if key is not None]
            if name == "year_from":
                return self._union("start_year", [y for y in years if int(y) >= value])
            return self._union("start_year", [y for y in years if int(y) <= value])
        if name == "q":
            # Once per request, whichever parts of a refreshed index ask (and kept per
            # catalogue version by the search itself); any status: `published` is intersected.
            return search.request_matching_ids(value)
        if name == "organisation":
            organisations = Organisation.objects.filter(slug__in=value).values_list("pk", flat=True)
            roles = set(cleaned.get("role") or [])
            partner_roles = roles - {"lead"}
            allowed = BitMap()
            for organisation in organisations:
                if not roles or "lead" in roles:
                    allowed |= self.led_by.get(organisation, BitMap())
                if not roles:
                    allowed |= self.partner_of.get(organisation, BitMap())
                for role in partner_roles:
                    allowed |= self.partner_as.get((organisation, role), BitMap())
            return allowed
        if name == "role":
            if cleaned.get("organisation") or "lead" in value:
                return None  # with an organisation, `organisation` applies it
            return BitMap.union(BitMap(), *(self.any_partner_as.get(r, BitMap()) for r in value))
        raise ValueError(f"The facet index cannot apply the filter {name!r}")

    # -- counting -----------------------------------------------------------------------

    def _id_sets(self, filterset):
        """ids(left_out): the filterset's ids leaving out those of the named filters in use,
        each distinct set computed once per filterset and index (and each filter, the search
        too, applied once): the counts, insights and the page's ids share them."""
        # {id(index): (index, allowed, sets)}: a refreshed index and each of its parts keep
        # their own (the index is kept in the memo, so its id is not reused meanwhile).
        memos = filterset.__dict__.setdefault("_facet_index_sets", {})
        if memos.get(id(self), (None,))[0] is not self:
            memos[id(self)] = (self, {}, {})
        _index, allowed, sets = memos[id(self)]
        active = filterset.active_facets()

        def ids(left_out):
            skip = tuple(name for name in left_out if name in active)
            if skip not in sets:
                sets[skip] = self.matching(filterset, skip, allowed)
            return sets[skip]

        return ids

    def count(self, filterset, wanted, facets, leaves_out, coverage, options):
        """(total, {facet: {key: n}}, {facet: recorded}, {organisation id: n}), as the
        counting SQL gives them: only keys with a count, nulls left out."""
        total, counts, recorded, by_organisation = self._counts(
            filterset, facets, leaves_out, coverage
        )
        return _shown(total, counts, recorded, by_organisation, wanted, options)

    def _counts(self, filterset, facets, leaves_out, coverage):
        """count()'s figures with every organisation's count (no top list yet)."""
        base = self._id_sets(filterset)
        counts = {facet: self._by_key(base(leaves_out(facet)), facet) for facet in facets}
        everything = base(())
        recorded = {
            facet: everything.intersection_cardinality(self.covered[facet]) for facet in coverage
        }
        ids = base(("organisation",))
        by_organisation = {}
        for organisation, members in self.involved.items():
            n = ids.intersection_cardinality(members)
            if n:
                by_organisation[organisation] = n
        return len(everything), counts, recorded, by_organisation

    def results(self, filterset):
        """The ids of the filterset's results (the set its counts count)."""
        return self._id_sets(filterset)(())

    def page(self, filterset, sort, offset, limit):
        """The ids of the filterset's results [offset:offset + limit] in `sort`'s order, as
        the list's SQL orders them; None when the index cannot order them (relevance)."""
        order = self.orders.get(sort)
        if order is None:
            return None
        return _page_in(order, self.results(filterset), sort, offset, limit)

    def _by_key(self, ids, facet, nulls=False):
        found = {}
        for key, members in self.by.get(facet, {}).items():
            if key is None and not nulls:
                continue
            n = ids.intersection_cardinality(members)
            if n:
                found[key] = n
        return found

    def insights(self, filterset, leaves_out):
        """{figure: {key: n}} as insights' counting SQL gives it (catalogue/insights.py):
        `leaves_out` maps each figure to the filters it leaves out."""
        ids = self._id_sets(filterset)

        def base(name):
            return ids(leaves_out[name])

        found = {"total": {"": len(base("total"))}}
        for name in ("theme", "driver", "outcome", "barrier", "country", "stage"):
            found[name] = self._by_key(base(name), name)
        for name in ("sector", "innovation_type", "evidence"):
            found[name] = self._by_key(base(name), name, nulls=True)
        found["year"] = self._by_key(base("year"), "start_year", nulls=True)
        found["cross"] = self._pairs(base("cross"), "driver", "outcome")
        found["theme_year"] = self._pairs(base("theme_year"), "theme", "start_year")
        return found

    def _pairs(self, ids, rows, columns):
        """{"row:column": n} of the ids in both (nulls left out)."""
        found = {}
        for row, row_members in self.by.get(rows, {}).items():
            within = ids & row_members
            if not within:
                continue
            for column, members in self.by.get(columns, {}).items():
                if column is None:
                    continue
                n = within.intersection_cardinality(members)
                if n:
                    found[f"{row}:{column}"] = n
        return found

    def memory(self):
        """Bytes the bitmaps take serialised: about what they hold in memory."""
        sets = [self.published, *self.involved.values(), *self.partner_as.values()]
        sets += [ids for values in self.by.values() for ids in values.values()]
        sets += [*self.led_by.values(), *self.partner_of.values(), *self.covered.values()]
        sets += list(self.any_partner_as.values())
        orders = sum(order.itemsize * len(order) for order in self.orders.values())
        return sum(len(ids.serialize()) for ids in sets) + orders


def _page_in(order, matching, sort, offset, limit):
    """The ids of `matching` at [offset:offset + limit] in `order` (the ids of `sort`)."""
    found = len(matching)
    end = min(offset + limit, found)
    if offset >= end:
        return []
    if end * len(order) > WALK_LIMIT * found and found <= ORDER_BY_IDS_LIMIT:
        # Few matches, far apart in the order: the database orders them.
        return _ordered_by_database(matching, sort, offset, end)
    if offset * 2 > found:  # nearer the end: walk the order backwards
        backwards = compress(reversed(order), map(matching.__contains__, reversed(order)))
        return list(islice(backwards, found - end, found - offset))[::-1]
    return list(islice(compress(order, map(matching.__contains__, order)), offset, end))


def _ordered_by_database(ids, sort, offset, end):
    """`ids` [offset:end] in `sort`'s order, as the database gives it."""
    ordered = Initiative.objects.filter(pk__in=list(ids)).order_by(*SORTS[sort][1], "pk")
    return list(ordered.values_list("pk", flat=True)[offset:end])


def _shown(total, counts, recorded, by_organisation, wanted, options):
    """count()'s answer: the `options` organisations with most, and those `wanted`."""
    top = sorted(by_organisation.items(), key=lambda item: (-item[1], item[0]))[:options]
    shown = dict(top)
    for organisation in wanted:
        if organisation in by_organisation:
            shown[organisation] = by_organisation[organisation]
    return total, counts, recorded, {str(k): n for k, n in shown.items()}


def _add(into, more):
    for key, n in more.items():
        into[key] = into.get(key, 0) + n
    return into


# -- refreshing from the change log ---------------------------------------------------------

# At most this many initiatives changed since the base was built are kept in an overlay;
# more, and the index is built again in full. Each refresh reads only the initiatives changed
# since the last one (about 0.2 ms each at 100,000: docs/scaling.md).
REFRESH_LIMIT = 5000


class Refreshed(FacetIndex):
    """A full index (`base`) brought to a later version: the initiatives the change log says
    changed since the base was built (`changed`) are void in the base and read afresh into a
    small index of their own (`overlay`).

    The two parts hold disjoint ids: the base's published set, which every id set a filter
    gives is intersected with, leaves out `changed`, and the overlay holds only those. So
    every count is the base's plus the overlay's, and the organisations' top list is taken
    from their sums: exactly what a full build at this version gives.
    """

    def __init__(self, base, overlay, changed):
        super().__init__(overlay.version)
        self.base = base
        self.overlay = overlay
        self.changed = changed
        # The base's bitmaps, shared (never changed), with the changed ids left out.
        trimmed = copy.copy(base)
        trimmed.published = base.published - self.changed
        self.parts = (trimmed, overlay)
        self.published = trimmed.published | overlay.published
        self.built_in = overlay.built_in

    def matching(self, filterset, skip=(), allowed=None):
        allowed = {} if allowed is None else allowed
        found = BitMap()
        for n, part in enumerate(self.parts):
            found |= part.matching(filterset, skip, allowed.setdefault(n, {}))
        return found

    def _counts(self, filterset, facets, leaves_out, coverage):
        total, counts, recorded, by_organisation = 0, {}, {}, {}
        for part in self.parts:
            n, part_counts, part_recorded, part_organisations = part._counts(
                filterset, facets, leaves_out, coverage
            )
            total += n
            for facet, found in part_counts.items():
                _add(counts.setdefault(facet, {}), found)
            _add(recorded, part_recorded)
            _add(by_organisation, part_organisations)
        return total, counts, recorded, by_organisation

    def insights(self, filterset, leaves_out):
        found = {}
        for part in self.parts:
            for name, figures in part.insights(filterset, leaves_out).items():
                _add(found.setdefault(name, {}), figures)
        return found

    def page(self, filterset, sort, offset, limit):
        """As FacetIndex.page. The base's order still holds for the initiatives that did not
        change (every sort key is a column of the initiative); the changed ones that match
        are ordered by the database among the base's first offset + limit."""
        order = self.base.orders.get(sort)
        if order is None:
            return None
        matching = self.results(filterset)
        fresh = matching & self.overlay.published
        if not fresh:
            return _page_in(order, matching, sort, offset, limit)
        end = offset + limit
        first = _page_in(order, matching - fresh, sort, 0, end)
        return _ordered_by_database(BitMap(first) | fresh, sort, offset, end)

    def memory(self):
        return self.base.memory() + self.overlay.memory() + len(self.changed.serialize())


def _merged(parts, version):
    """One index of small indexes holding disjoint ids (each part's `published` says which
    are its own): a refreshed index's overlays, folded into one."""
    merged = FacetIndex(version)
    for part in parts:
        own = part.published
        merged.published |= own
        for facet, values in part.by.items():
            if facet == "measured":
                values = {"yes": values["yes"]} if "yes" in values else {}
            for key, ids in values.items():
                merged.by[facet][key] |= ids & own
        for name in ("led_by", "partner_of", "partner_as", "any_partner_as"):
            table = getattr(merged, name)
            for key, ids in getattr(part, name).items():
                table[key] |= ids & own
    merged._freeze()
    return merged


def refreshed(index, using="default"):
    """The index for the catalogue's current version, from `index` and the change log, in one
    snapshot; None when a full build is needed instead (too many changes since the full
    build, a write that may change anything, a log that does not reach back, or no log:
    SQLite). From a refreshed index, only what changed since its own version is read."""
    db = connections[using]
    if db.vendor != "postgresql":
        return None
    started = time.perf_counter()
    base = index.base if isinstance(index, Refreshed) else index
    # As build(): inside a transaction already (a test's), that transaction's snapshot.
    snapshot = not db.in_atomic_block
    with transaction.atomic(using=using):
        with db.cursor() as cursor:
            if snapshot:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT number FROM catalogue_catalogueversion WHERE id = 1")
            version = cursor.fetchone()[0]
            if version == index.version:
                return index
            new = changelog.changes_between(cursor, index.version, version)
        if new is changelog.EVERYTHING:
            return None
        new = BitMap(new)
        changed = index.changed | new
        if len(changed) > REFRESH_LIMIT:
            return None
        fresh = FacetIndex(version)
        if new:
            fresh._read(using, ids=new)
    fresh._freeze()
    if isinstance(index, Refreshed):
        kept = copy.copy(index.overlay)
        kept.published = index.overlay.published - new
        overlay = _merged([kept, fresh], version)
    else:
        overlay = fresh
    overlay.built_in = time.perf_counter() - started
    return Refreshed(base, overlay, changed)


# -- the process's index --------------------------------------------------------------------

_index = None
_building = threading.Lock()


def current(request=None):
    """The index for the catalogue version this request reads, or None (count with SQL).

    With CATALOGUE_FACET_INDEX (DJANGO_FACET_INDEX) "sync", the default, a request that finds
    the index behind refreshes it from the change log or builds it (one at a time);
    "background" refreshes it in the request when the log allows, else starts a full build
    in a thread and counts with SQL; "off" never uses it. Without a catalogue version
    (SQLite) there is none.
    """
    mode = settings.CATALOGUE_FACET_INDEX
    if mode == "off":
        return None
    version = caching.current_version(request)
    if version is None:
        return None
    index = _index
    if index is not None and index.version == version:
        return index
    # Built where this request reads: a read replica that has replayed this version, or the
    # primary (catalogue/routing.py). The index's version is read in its own snapshot.
    using = routing.read_alias()
    if mode == "sync":
        # One build at a time; a thread that waited for another's build uses it if it
        # describes its version.
        with _building:
            index = _index
            if index is None or index.version != version:
                try:
                    index = _refresh(index, using) or _rebuild(using)
                except DatabaseError:
                    logger.exception("The facet index could not be built; counting with SQL")
                    return None
        # A write committed since this request read its version: not this request's index.
        return index if index.version == version else None
    if _building.acquire(blocking=False):
        # A refresh from the change log takes milliseconds: in the request. A full build
        # runs in a thread while requests count with SQL.
        try:
            index = _refresh(_index, using)
        except DatabaseError:
            logger.exception("The facet index could not be refreshed")
            index = None
        if index is not None:
            _building.release()
            return index if index.version == version else None
        threading.Thread(
            target=_rebuild_in_background, args=(using,), name="facet-index", daemon=True
        ).start()
    return None


def _refresh(index, using="default"):
    """The process's index brought to the current version from the change log, or None."""
    global _index
    if index is None:
        return None
    found = refreshed(index, using)
    if found is not None and found is not index:
        _index = found
        logger.info(
            "Facet index for catalogue version %s: %s initiatives changed since version %s, "
            "read in %.0f ms",
            found.version,
            len(found.changed),
            found.base.version,
            found.built_in * 1000,
        )
    return found


def _rebuild(using="default"):
    global _index
    index = FacetIndex.build(using)
    _index = index
    logger.info(
        "Facet index for catalogue version %s: %s initiatives in %.0f ms",
        index.version,
        len(index.published),
        index.built_in * 1000,
    )
    return index


def _rebuild_in_background(using):
    try:
        _rebuild(using)
    except Exception:
        logger.exception("The facet index could not be built; counting with SQL")
    finally:
        connections.close_all()  # this thread's own connections
        _building.release()


def forget():
    """Drop the process's index (tests)."""
    global _index
    _index = None
