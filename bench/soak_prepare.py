"""Prepare a soak run (bench/soak) from the database it will load: editors, drafts, URL material.

Usage (with the server's environment, so the same database and settings):

    .venv/bin/python bench/soak_prepare.py WORKDIR

Writes to WORKDIR:
  soak-data.lua   what bench/soak.lua draws its URLs from: every published slug, the
                  vocabulary slugs, countries, stages, kinds, years, sorts, search words that
                  match, and export queries that select a bounded number of records
  editors.json    the two editors' usernames and passwords, and the drafts they will edit
and prints one JSON object describing the material (for the report).

Two complete published initiatives are turned into drafts the way a publisher would (the
workflow's "unpublish", recorded in their history), so each has everything publishing needs.
"""

import json
import os
import random
import re
import secrets
import sys
from collections import Counter
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalogue.settings")

# Export queries select between these many records: enough to stream several chunks' worth
# of rows, few enough that the export does not dominate the mix (a full 10,000-record export
# takes seconds, as long as hundreds of pages).
EXPORT_FEWEST, EXPORT_MOST = 100, 400
EXPORT_QUERIES = 40
# Search words: each must match at least this many published records.
WORD_FEWEST = 5
WORDS = 150
STOPWORDS = {"with", "from", "into", "their", "this", "that", "using", "for", "and", "the"}


def lua_string(text):
    return json.dumps(text)  # a JSON string of ASCII is a valid Lua string


def lua_list(items):
    return "{" + ", ".join(lua_string(str(item)) for item in items) + "}"


def make_user(username, group_name, password):
    from django.contrib.auth.models import Group, User

    user, _ = User.objects.get_or_create(username=username)
    user.is_staff = True
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=group_name)])
    return user


def complete_drafts(publisher, number):
    """`number` published synthetic initiatives with partners, metrics and several sources,
    unpublished by `publisher` so that they are drafts ready to publish again."""
    from django.db.models import Count

    from catalogue import workflow
    from catalogue.models import Initiative

    chosen = list(
        Initiative.objects.published()
        .filter(slug__startswith="synthetic-")
        .annotate(
            n_partners=Count("partnerships", distinct=True),
            n_sources=Count("sources", distinct=True),
            n_metrics=Count("metrics", distinct=True),
            n_barriers=Count("barriers", distinct=True),
        )
        .filter(n_partners__gte=2, n_sources__gte=2, n_metrics__gte=1, n_barriers__gte=1)
        .order_by("pk")[:number]
    )
    if len(chosen) < number:
        sys.exit("soak_prepare: not enough complete published initiatives to make drafts of")
    for initiative in chosen:
        workflow.apply(initiative, "unpublish", publisher, comment="Unpublished for the soak test")
        if workflow.publication_problems(initiative):
            sys.exit(f"soak_prepare: draft {initiative.slug} cannot be published")
    return chosen


def search_words(rng):
    from catalogue import search
    from catalogue.models import Initiative

    published = Initiative.objects.published()
    counts = Counter()
    for title in published.values_list("title", flat=True).iterator():
        for word in re.findall(r"[A-Za-z]{4,}", title):
            if word.lower() not in STOPWORDS:
                counts[word.lower()] += 1
    candidates = [word for word, _ in counts.most_common(400)]
    rng.shuffle(candidates)
    words = {}
    for word in candidates:
        matching = search.search(published, word).count()
        if matching >= WORD_FEWEST:
            words[word] = matching
        if len(words) == WORDS:
            break
    return words


def export_queries(rng, params):
    from django.http import QueryDict

    from catalogue.filters import InitiativeFilter
    from catalogue.models import Initiative

    published = Initiative.objects.published()
    found = {}
    for _ in range(2000):
        names = rng.sample(["theme", "driver", "outcome", "sector", "country", "stage"], 2)
        query = "&".join(f"{name}={rng.choice(params[name])}" for name in names)
        if rng.random() < 0.5:
            first = rng.randint(2000, 2020)
            query += f"&year_from={first}&year_to={first + rng.randint(2, 8)}"
        if query in found:
            continue
        count = InitiativeFilter(QueryDict(query), queryset=published).qs.count()
        if EXPORT_FEWEST <= count <= EXPORT_MOST:
            found[query] = count
            if len(found) == EXPORT_QUERIES:
                break
    if not found:
        sys.exit("soak_prepare: no export query selects a bounded number of records")
    return found


def main(workdir):
    django.setup()
    from django.db.models import Max, Min

    from catalogue.filters import SORTS
    from catalogue.models import Initiative, Organisation, Place
    from catalogue.vocabularies import VOCABULARIES

    rng = random.Random(2026)
    passwords = {name: secrets.token_urlsafe(18) for name in ("publisher", "editor")}
    publisher = make_user("soak-publisher", "Publishers", passwords["publisher"])
    make_user("soak-editor", "Editors", passwords["editor"])
    to_publish, to_save = complete_drafts(publisher, 2)

    published = Initiative.objects.published()
    slugs = list(published.order_by("pk").values_list("slug", flat=True))
    params = {
        vocabulary.param: list(
            vocabulary.model.objects.filter(initiatives__status="published")
            .distinct()
            .order_by("slug")
            .values_list("slug", flat=True)
        )
        for vocabulary in VOCABULARIES
    }
    params["country"] = sorted(
        set(Place.objects.filter(initiatives__status="published").values_list("country", flat=True))
    )
    params["stage"] = [value for value, _ in Initiative.Stage.choices]
    params["kind"] = [value for value, _ in Organisation.Kind.choices]
    years = published.aggregate(first=Min("start_year"), last=Max("start_year"))
    sorts = [key for key in SORTS if key != "relevance"]
    words = search_words(rng)
    exports = export_queries(rng, params)

    lines = ["-- Generated by bench/soak_prepare.py for one soak run.", "return {"]
    lines.append(f"  slugs = {lua_list(slugs)},")
    lines.append("  params = {")
    lines += [f"    {name} = {lua_list(values)}," for name, values in params.items()]
    lines.append("  },")
    lines.append(f"  first_year = {years['first']}, last_year = {years['last']},")
    lines.append(f"  sorts = {lua_list(sorts)},")
    lines.append(f"  words = {lua_list(words)},")
    lines.append(f"  exports = {lua_list(exports)},")
    lines.append("}")
    (workdir / "soak-data.lua").write_text("\n".join(lines) + "\n")

    editors = {
        "publisher": {"username": "soak-publisher", "password": passwords["publisher"]},
        "editor": {"username": "soak-editor", "password": passwords["editor"]},
        "to_publish": {"pk": to_publish.pk, "slug": to_publish.slug},
        "to_save": {"pk": to_save.pk, "slug": to_save.slug},
    }
    (workdir / "editors.json").write_text(json.dumps(editors))
    os.chmod(workdir / "editors.json", 0o600)

    export_counts = sorted(exports.values())
    word_counts = sorted(words.values())
    print(
        json.dumps(
            {
                "published": len(slugs),
                "terms": {name: len(values) for name, values in params.items()},
                "years": [years["first"], years["last"]],
                "sorts": sorts,
                "words": len(words),
                "word_matches": [
                    word_counts[0],
                    word_counts[len(word_counts) // 2],
                    word_counts[-1],
                ],
                "export_queries": len(exports),
                "export_records": [
                    export_counts[0],
                    export_counts[len(export_counts) // 2],
                    export_counts[-1],
                ],
                "drafts": [to_publish.slug, to_save.slug],
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
