"""Write the URL files of bench/run's cold-path phase, from the database it will load.

Usage (with the server's environment, so the same database and settings):

    .venv/bin/python bench/varied_urls.py OUTDIR [COUNT]

Writes OUTDIR/<kind>.txt, one path a line, at most COUNT (20000) distinct paths of each kind,
in random order, and prints one JSON object a line describing each file (read by
bench/report.py). bench/varied.lua requests each path of a file at most once in a run, so no
cache keyed by URL can serve any of them.

The kinds:
  varied-list      /initiatives/? one or two themes, often a driver or an outcome, sometimes
                   a sector, country or stage, sometimes page 2-4
  varied-search    /initiatives/?q= one word from the titles, sometimes with one filter
  varied-insights  /insights/? one or two filters (a start-year range counts as one)
  varied-api       /api/v1/initiatives/? the same filters as varied-list
  deep-page        /initiatives/? one filter, on a page in the back half of its pages, page
                   200 or later where the filter has that many (any sort)

Every combination is drawn from one published initiative's own terms (and a word of its
title), so it matches at least that initiative; no two paths of a kind share their filters
(facet counts and the filter panel are cached per filter combination, page and sort aside),
except deep pages, which share their one filter with other deep pages. Pages are only asked
for where they exist, counted exactly from the link tables (bitsets of initiative ids): the
API answers a page past the last with a 404.
"""

import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalogue.settings")

KINDS = ["varied-list", "varied-search", "varied-insights", "varied-api", "deep-page"]
COUNT = 20_000
# The initiatives whose terms and titles the combinations are drawn from.
PROFILES = 60_000
# Tries per wanted path before a kind gives up (its combinations ran out).
TRIES = 30
PAGE_SIZE = 20
STOPWORDS = {"with", "from", "into", "their", "this", "that", "using", "for", "and", "the"}
# Filters other than themes, as the list and the API name them.
OTHERS = ["driver", "outcome", "barrier", "sector", "country", "stage"]


class Catalogue:
    """What the published catalogue holds, enough to count any filter combination: a bitset
    (a Python int, bit = initiative id) per filter value, and the terms and title words of a
    random sample of initiatives."""

    def __init__(self, rng):
        from django.db import connection

        from catalogue.models import Initiative, Place
        from catalogue.vocabularies import VOCABULARIES

        self.cursor = connection.cursor()
        ids = self.column("SELECT id FROM catalogue_initiative WHERE status = 'published'")
        if not ids:
            sys.exit("varied_urls: no published initiative")
        self.size = (max(ids) >> 3) + 1
        self.published = len(ids)
        sample = set(rng.sample(ids, min(PROFILES, len(ids))))
        del ids
        # param -> value -> bytearray, then int; id -> param -> [values]
        bits, self.profiles = {}, {pk: {} for pk in sample}
        published = (
            "JOIN catalogue_initiative i ON i.id = l.initiative_id AND i.status = 'published'"
        )
        sources = []
        for vocabulary in VOCABULARIES:
            slugs = dict(self.rows(f"SELECT id, slug FROM {vocabulary.model._meta.db_table}"))
            if vocabulary.many:
                sql = (
                    f"SELECT l.{vocabulary.column}, l.initiative_id "
                    f"FROM {vocabulary.link_table} l {published}"
                )
            else:
                sql = (
                    f"SELECT {vocabulary.column}, id FROM catalogue_initiative "
                    f"WHERE status = 'published' AND {vocabulary.column} IS NOT NULL"
                )
            sources.append((vocabulary.param, sql, slugs))
        places = Initiative.places.through._meta
        sources.append(
            (
                "country",
                f"SELECT DISTINCT p.country, l.initiative_id FROM {places.db_table} l {published} "
                f"JOIN {Place._meta.db_table} p ON p.id = l.place_id",
                None,
            )
        )
        sources.append(
            (
                "start_year",
                "SELECT start_year, id FROM catalogue_initiative "
                "WHERE status = 'published' AND start_year IS NOT NULL",
                None,
            )
        )
        sources.append(
            (
                "stage",
                "SELECT stage, id FROM catalogue_initiative "
                "WHERE status = 'published' AND stage <> ''",
                None,
            )
        )
        for param, sql, slugs in sources:
            found = bits.setdefault(param, {})
            self.cursor.execute(sql)
            while chunk := self.cursor.fetchmany(50_000):
                for key, pk in chunk:
                    value = slugs[key] if slugs is not None else key
                    array = found.get(value)
                    if array is None:
                        array = found[value] = bytearray(self.size)
                    array[pk >> 3] |= 1 << (pk & 7)
                    if pk in sample:
                        self.profiles[pk].setdefault(param, []).append(value)
        self.bits = {
            param: {value: int.from_bytes(array, "little") for value, array in values.items()}
            for param, values in bits.items()
        }
        self.words = self.title_words(sample)
        self.counted = {}

    def rows(self, sql, params=None):
        self.cursor.execute(sql, params)
        return self.cursor.fetchall()

    def column(self, sql, params=None):
        return [row[0] for row in self.rows(sql, params)]

    def title_words(self, sample):
        """id -> the words of its title that the search can use (not stop words)."""
        titles = self.rows(
            "SELECT id, title FROM catalogue_initiative WHERE id = ANY(%s)", [list(sample)]
        )
        words = {}
        for pk, title in titles:
            found = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", title)} - STOPWORDS
            words[pk] = sorted(found)
        vocabulary = sorted({w for found in words.values() for w in found})
        # A word PostgreSQL's English configuration drops would search for nothing.
        usable = set(
            self.column(
                "SELECT w FROM unnest(%s::text[]) AS w "
                "WHERE numnode(websearch_to_tsquery('english', w)) > 0",
                [vocabulary],
            )
        )
        return {pk: [w for w in found if w in usable] for pk, found in words.items()}

    def count(self, filters):
        """How many published initiatives the filters select: AND across parameters, OR
        among one parameter's values, as on the list."""
        key = combination_key(filters)
        if key not in self.counted:
            self.counted[key] = self._count(filters)
        return self.counted[key]

    def _count(self, filters):
        selected = None
        for param, values in filters.items():
            union = 0
            for value in values:
                union |= self.bits[param].get(value, 0)
            selected = union if selected is None else selected & union
        return self.published if selected is None else selected.bit_count()


def query(filters, **extra):
    parts = [f"{param}={value}" for param, values in filters.items() for value in values]
    parts += [f"{name}={value}" for name, value in extra.items() if value is not None]
    return "&".join(parts)


def combination_key(filters):
    return tuple(sorted((param, tuple(sorted(values))) for param, values in filters.items()))


def pick_themes(rng, terms):
    themes = terms.get("theme", [])
    if not themes:
        return None
    return rng.sample(themes, 2 if len(themes) > 1 and rng.random() < 0.4 else 1)


def list_filters(rng, terms):
    """One or two themes, often a driver or an outcome, sometimes a sector, country or stage."""
    themes = pick_themes(rng, terms)
    if themes is None:
        return None
    filters = {"theme": themes}
    if rng.random() < 0.7:
        params = [p for p in ("driver", "outcome") if terms.get(p)]
        rng.shuffle(params)
        # Now and then both.
        for param in params[: 2 if rng.random() < 0.25 else 1]:
            filters[param] = [rng.choice(terms[param])]
    if rng.random() < 0.3:
        param = rng.choice([p for p in ("sector", "country", "stage") if terms.get(p)] or [None])
        if param is not None:
            filters[param] = [rng.choice(terms[param])]
    return filters


def any_filters(rng, terms, most, years=False):
    """One to `most` filters, each a different parameter with one of the initiative's values;
    with `years`, a start-year range around the initiative's own start year is one of them."""
    params = [p for p in ["theme", *OTHERS] if terms.get(p)]
    if years and terms.get("start_year"):
        params.append("years")
    if not params:
        return None
    chosen = rng.sample(params, min(len(params), rng.randint(1, most)))
    filters = {param: [rng.choice(terms[param])] for param in chosen if param != "years"}
    if "years" in chosen:
        year = terms["start_year"][0]
        filters["year_from"] = [year - rng.randint(0, 5)]
        filters["year_to"] = [year + rng.randint(0, 5)]
    return filters


def later_page(rng, catalogue, filters, chance):
    if rng.random() >= chance:
        return None
    pages = math.ceil(catalogue.count(filters) / PAGE_SIZE)
    return rng.randint(2, min(4, pages)) if pages >= 2 else None


def draw(kind, rng, catalogue, profiles, seen):
    """One path of this kind, or None when the draw repeats an earlier one."""
    pk = rng.choice(profiles)
    terms = catalogue.profiles[pk]
    if kind in ("varied-list", "varied-api"):
        filters = list_filters(rng, terms)
        if filters is None or combination_key(filters) in seen:
            return None
        seen.add(combination_key(filters))
        page = later_page(rng, catalogue, filters, 0.3)
        prefix = "/initiatives/?" if kind == "varied-list" else "/api/v1/initiatives/?"
        return prefix + query(filters, page=page), page is not None
    if kind == "varied-search":
        words = catalogue.words.get(pk)
        if not words:
            return None
        word = rng.choice(words)
        filters = any_filters(rng, terms, 1) if rng.random() < 0.5 else {}
        if filters is None:
            return None
        key = (word, combination_key(filters))
        if key in seen:
            return None
        seen.add(key)
        return "/initiatives/?" + query({"q": [word], **filters}), bool(filters)
    if kind == "varied-insights":
        filters = any_filters(rng, terms, 2, years=True)
        if filters is None or combination_key(filters) in seen:
            return None
        seen.add(combination_key(filters))
        return "/insights/?" + query(filters), len(filters) - ("year_to" in filters) == 2
    if kind == "deep-page":
        params = [p for p in ["theme", *OTHERS] if terms.get(p)]
        if not params:
            return None
        param = rng.choice(params)
        filters = {param: [rng.choice(terms[param])]}
        pages = math.ceil(catalogue.count(filters) / PAGE_SIZE)
        if pages < 2:
            return None
        first = max(2, min(200, math.ceil(pages / 2)))
        page = rng.randint(first, pages)
        sort = rng.choice([None, "-updated", "title", "-start_year", "start_year"])
        key = (combination_key(filters), page, sort)
        if key in seen:
            return None
        seen.add(key)
        return "/initiatives/?" + query(filters, sort=sort, page=page), page >= 200
    raise ValueError(kind)


# What the second figure of each kind's description counts.
MARKED = {
    "varied-list": "on page 2-4",
    "varied-api": "on page 2-4",
    "varied-search": "with a filter",
    "varied-insights": "with two filters",
    "deep-page": "on page 200 or later",
}


def main(outdir, count):
    django.setup()
    started = time.monotonic()
    rng = random.Random(count)
    catalogue = Catalogue(rng)
    print(
        f"varied_urls: read {catalogue.published:,} published initiatives "
        f"in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    profiles = sorted(catalogue.profiles)
    outdir.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        started = time.monotonic()
        kind_rng = random.Random(f"{kind}:{catalogue.published}")
        seen, paths, marked = set(), [], 0
        for _ in range(count * TRIES):
            drawn = draw(kind, kind_rng, catalogue, profiles, seen)
            if drawn is not None:
                paths.append(drawn[0])
                marked += drawn[1]
                if len(paths) == count:
                    break
        if not paths:
            sys.exit(f"varied_urls: no {kind} path could be drawn")
        (outdir / f"{kind}.txt").write_text("\n".join(paths) + "\n")
        print(
            json.dumps(
                {
                    "kind": kind,
                    "urls": len(paths),
                    "wanted": count,
                    "marked": marked,
                    "marked_means": MARKED[kind],
                    "example": paths[0],
                    "seconds": round(time.monotonic() - started, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else COUNT)
