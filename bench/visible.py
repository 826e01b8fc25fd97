"""How long an editor's save takes to show in every public output, while a varied load runs.

Usage (with the server's environment, so the same database and settings; it writes):

    .venv/bin/python bench/visible.py BASE_URL SECONDS

For about SECONDS (at least three rounds), each round saves one published initiative as the
admin's change form does (a new word in its title; the record saved in one transaction, with a
revision), then asks the server over HTTP, a fresh connection each time, for each public output
until it shows the word:

- the case-study page;
- the list sorted by last update (its first page);
- the list's search for the word;
- the API's record;
- the API's search for the word.

An output counts as showing the save from the first of CONFIRM answers in a row that show it
(the two workers answer in turn, as the operating system hands them connections); an answer
without the word after one with it is counted as stale. A round that has not seen every output
within TIMEOUT seconds fails. Prints one line per round, a summary and, last, `JSON {...}`
(read by bench/report.py).
"""

import json
import os
import random
import statistics
import string
import sys
import time
import urllib.request
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalogue.settings")
django.setup()

import reversion  # noqa: E402
from django.db import transaction  # noqa: E402

from catalogue.models import Initiative  # noqa: E402

CONFIRM = 3  # answers in a row that show the save
TIMEOUT = 10.0  # seconds a round may take
MIN_ROUNDS = 3


def fetch(url):
    request = urllib.request.Request(url, headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return response.read().decode()


def outputs(base, initiative, word):
    return {
        "case study": f"{base}{initiative.get_absolute_url()}",
        "list by last update": f"{base}/initiatives/?sort=-updated",
        "search": f"{base}/initiatives/?q={word}",
        "API record": f"{base}/api/v1/initiatives/{initiative.slug}/",
        "API search": f"{base}/api/v1/initiatives/?q={word}",
    }


def save(initiative, word):
    """What the admin's change form does on save, in its one transaction."""
    with transaction.atomic(), reversion.create_revision():
        initiative.title = f"{initiative.title[:180]} {word}"
        initiative.save()


def one_round(base, initiative, rng):
    word = "zq" + "".join(rng.choice(string.ascii_lowercase) for _ in range(10))
    urls = outputs(base, initiative, word)
    save(initiative, word)
    saved = time.perf_counter()
    streak = dict.fromkeys(urls, 0)
    first = dict.fromkeys(urls)  # when the streak now running began
    stale = 0
    while any(n < CONFIRM for n in streak.values()):
        if time.perf_counter() - saved > TIMEOUT:
            return None, stale
        for name, url in urls.items():
            if streak[name] >= CONFIRM:
                continue
            asked = time.perf_counter()
            shown = word in fetch(url)
            if shown:
                if streak[name] == 0:
                    first[name] = asked
                streak[name] += 1
            else:
                if first[name] is not None:
                    stale += 1
                streak[name], first[name] = 0, None
    return {name: first[name] - saved for name in urls}, stale


def main(base, seconds):
    rng = random.Random(17)
    candidates = list(
        Initiative.objects.published().order_by("?").values_list("pk", flat=True)[:200]
    )
    waits, by_output, failed, stale = [], {}, 0, 0
    started = time.perf_counter()
    n = 0
    while n < MIN_ROUNDS or time.perf_counter() - started < seconds:
        initiative = Initiative.objects.get(pk=candidates[n % len(candidates)])
        shown, went_stale = one_round(base, initiative, rng)
        stale += went_stale
        n += 1
        if shown is None:
            failed += 1
            print(f"   save {n}: not shown everywhere within {TIMEOUT:.0f} s")
            continue
        waits.append(max(shown.values()))
        for name, wait in shown.items():
            by_output.setdefault(name, []).append(wait)
        print(f"   save {n}: every output showed it after {waits[-1] * 1000:.0f} ms")
    result = {
        "saves": n,
        "failed": failed,
        "stale": stale,
        "confirm": CONFIRM,
        "median_ms": statistics.median(waits) * 1000 if waits else None,
        "max_ms": max(waits) * 1000 if waits else None,
        "by_output_median_ms": {k: statistics.median(v) * 1000 for k, v in by_output.items()},
    }
    print(
        f"RESULT {n} saves, every output showing each after median "
        f"{result['median_ms'] or 0:.0f} ms, max {result['max_ms'] or 0:.0f} ms; "
        f"{failed} not shown within {TIMEOUT:.0f} s, {stale} stale answers after a fresh one"
    )
    print("JSON " + json.dumps(result))
    return 1 if failed or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/"), float(sys.argv[2])))
