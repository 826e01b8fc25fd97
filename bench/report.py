"""Turn what bench/run recorded into the report it prints and keeps as results/latest.txt.

Usage: .venv/bin/python bench/report.py bench/results

Reads from that directory:
  meta.tsv     name <TAB> value: what was measured, on what
  queries.tsv  size <TAB> one JSON object from bench/querycount.py
  runs.tsv     size <TAB> page <TAB> connections <TAB> run <TAB> one JSON object from bench/wrk.lua
               (or, for the cold path's kinds, bench/varied.lua)
  varied.tsv   size <TAB> one JSON object from bench/varied_urls.py (absent with BENCH_VARIED=0)

The tables are Markdown, so they paste into a README as they are.
"""

import json
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PAGES = ["ceiling", "detail", "list", "search"]
# The cold path's kinds of varied URLs (bench/varied_urls.py), in the order each round loads them.
VARIED = ["varied-list", "varied-search", "varied-insights", "varied-api", "deep-page"]
# The varied list loaded again while bench/visible.py saves initiatives (bench/run).
SAVING = "varied-saving"
# Issue 17: under the varied load, an editor's save shows in every public output within this.
VISIBLE_WITHIN_MS = 1000


@dataclass(frozen=True)
class Goal:
    """Issue 17's goal for one kind at one size: a share of the ceiling (at least, in %) and
    latencies (under, in ms); None where the issue sets none."""

    share: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None

    def describe(self):
        parts = [] if self.share is None else [f">= {self.share:g}%"]
        parts += [] if self.p50_ms is None else [f"p50 < {duration(self.p50_ms * 1000)}"]
        parts += [] if self.p99_ms is None else [f"p99 < {duration(self.p99_ms * 1000)}"]
        return ", ".join(parts)

    def met(self, data, share):
        return (
            (self.share is None or (share is not None and share >= self.share))
            and (self.p50_ms is None or data["p50_us"] < self.p50_ms * 1000)
            and (self.p99_ms is None or data["p99_us"] < self.p99_ms * 1000)
        )


# The goals hold at this many connections: with 2 sync workers, the time to serve one page.
GOAL_CONNECTIONS = 2
GOALS = {
    10_000: {"varied-list": Goal(3, 15), "varied-search": Goal(3, 15)},
    100_000: {"varied-list": Goal(1.5, 40), "varied-search": Goal(1.5, 40)},
    1_000_000: {
        # "the first request of any filter combination"
        "varied-list": Goal(p50_ms=250, p99_ms=1000),
        "varied-search": Goal(p50_ms=500),
        "varied-insights": Goal(p50_ms=500),
        "deep-page": Goal(p50_ms=200),
        "varied-api": Goal(p50_ms=100),
    },
}


def read_rows(path, keys):
    """[(dict of the leading tab-separated keys, the trailing JSON object)] of a .tsv file."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        *values, data = line.split("\t", len(keys))
        rows.append((dict(zip(keys, values, strict=True)), json.loads(data)))
    return rows


def markdown_table(headers, rows, align):
    """A Markdown table padded to line up in a terminal; align is 'l' or 'r' per column."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        padded = (
            cell.rjust(width) if side == "r" else cell.ljust(width)
            for cell, width, side in zip(cells, widths, align, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|".join(
        "-" * (width + 1) + ":" if side == "r" else "-" * (width + 2)
        for width, side in zip(widths, align, strict=True)
    )
    return "\n".join([line(headers), f"|{rule}|", *(line(row) for row in rows)])


# Below this many completed requests a run's percentiles are rough, and flagged.
FEW_REQUESTS = 50


def duration(microseconds):
    ms = microseconds / 1000
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def percent(value):
    if value < 1:
        return f"{value:.2f}%"
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


def errors(result):
    kinds = {
        "connect": result["connect_errors"],
        "read": result["read_errors"],
        "write": result["write_errors"],
        "timeout": result["timeouts"],
    }
    found = [f"{count} {kind}" for kind, count in kinds.items() if count]
    return ", ".join(found) or "0"


def error_count(result):
    return sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))


class Results:
    def __init__(self, directory):
        directory = Path(directory)
        meta_path = directory / "meta.tsv"
        self.meta = [line.split("\t", 1) for line in meta_path.read_text().splitlines()]
        self.queries = defaultdict(list)
        for keys, data in read_rows(directory / "queries.tsv", ["size"]):
            self.queries[int(keys["size"])].append(data)
        # (size, connections, run) -> page -> wrk result
        self.runs = defaultdict(dict)
        for keys, data in read_rows(directory / "runs.tsv", ["size", "page", "conns", "run"]):
            key = (int(keys["size"]), int(keys["conns"]), int(keys["run"]))
            self.runs[key][keys["page"]] = data
        # size -> kind -> what bench/varied_urls.py says of its URL file
        self.varied = defaultdict(dict)
        for keys, data in read_rows(directory / "varied.tsv", ["size"]):
            self.varied[int(keys["size"])][data["kind"]] = data
        # (size, connections, run) -> what bench/visible.py measured during that run
        self.visible = {}
        for keys, data in read_rows(directory / "visible.tsv", ["size", "conns", "run"]):
            self.visible[(int(keys["size"]), int(keys["conns"]), int(keys["run"]))] = data

    @property
    def sizes(self):
        return sorted({size for size, _, _ in self.runs} | set(self.queries))

    def connections(self, size):
        return sorted({conns for s, conns, _ in self.runs if s == size})

    def repeats(self, size, conns):
        return sorted(run for s, c, run in self.runs if (s, c) == (size, conns))

    def share_of_ceiling(self, size, conns, run, page):
        """The page's throughput as a share of the ceiling's in the same round, or None."""
        round_ = self.runs[(size, conns, run)]
        ceiling = round_.get("ceiling", {}).get("rps")
        if not ceiling or page not in round_:
            return None
        return 100 * round_[page]["rps"] / ceiling


def query_section(results, size):
    rows = []
    for data in results.queries[size]:
        queries = str(data["queries"])
        if data["first_request_queries"] != data["queries"]:
            queries += f" (first request {data['first_request_queries']})"
        matching = "" if data["matching"] is None else f"{data['matching']:,}"
        rows.append([data["page"], data["url"], queries, matching])
    return markdown_table(["page", "URL", "SQL queries", "matching"], rows, "llrr")


def load_section(results, size):
    rows = []
    for conns in results.connections(size):
        for page in PAGES:
            for run in results.repeats(size, conns):
                data = results.runs[(size, conns, run)].get(page)
                if data is None:
                    continue
                share = results.share_of_ceiling(size, conns, run, page)
                few = "*" if data["requests"] < FEW_REQUESTS else ""
                rows.append(
                    [
                        page,
                        str(conns),
                        str(run),
                        f"{data['rps']:,.1f}",
                        duration(data["p50_us"]),
                        duration(data["p99_us"]),
                        f"{data['requests']:,}{few}",
                        errors(data),
                        f"{data['non2xx']:,}",
                        "-" if page == "ceiling" or share is None else percent(share),
                    ]
                )
    headers = ["page", "conns", "run", "req/s", "p50", "p99", "requests", "errors", "non-2xx"]
    return markdown_table([*headers, "% of ceiling"], rows, "lrrrrrrrrr")


def cold_rows(results):
    """The cold path's table rows, and the goals checked and met."""
    rows, checked, met = [], 0, 0
    for size in results.sizes:
        for conns in results.connections(size):
            for kind in [*VARIED, SAVING]:
                for run in results.repeats(size, conns):
                    data = results.runs[(size, conns, run)].get(kind)
                    if data is None:
                        continue
                    share = results.share_of_ceiling(size, conns, run, kind)
                    goal = GOALS.get(size, {}).get(kind) if conns == GOAL_CONNECTIONS else None
                    verdict = "-"
                    if goal is not None:
                        checked += 1
                        ok = goal.met(data, share)
                        met += ok
                        verdict = "PASS" if ok else "FAIL"
                    flags = "*" if data["requests"] < FEW_REQUESTS else ""
                    flags += "+" if data.get("repeated") else ""
                    rows.append(
                        [
                            f"{size:,}",
                            kind,
                            str(conns),
                            str(run),
                            f"{data['rps']:,.1f}",
                            "-" if share is None else percent(share),
                            duration(data["p50_us"]),
                            duration(data["p99_us"]),
                            f"{data['requests']:,}{flags}",
                            errors(data),
                            f"{data['non2xx']:,}",
                            "-" if goal is None else goal.describe(),
                            verdict,
                        ]
                    )
    return rows, checked, met


def cold_section(results):
    rows, checked, met = cold_rows(results)
    if not rows:
        return []
    headers = ["size", "kind", "conns", "run", "req/s", "% of ceiling", "p50", "p99"]
    headers += ["requests", "errors", "non-2xx", f"goal (at {GOAL_CONNECTIONS} conns)", "result"]
    lines = ["", "## Cold path (varied URLs)", ""]
    lines += [
        "Each run requests distinct URLs drawn from the database (none twice, so no cache "
        "keyed by URL serves any), after one initiative was updated (which moves the "
        "catalogue version, as an editor's save does). % of ceiling = req/s / the "
        "ceiling's req/s in the same round. Goals are issue 17's, checked at "
        f"{GOAL_CONNECTIONS} connections where the issue sets one for that size.",
        "",
        markdown_table(headers, rows, "llrrrrrrrrrll"),
    ]
    if any("+" in row[8] for row in rows):
        lines += [
            "",
            "Marked +: a wrk thread ran out of distinct URLs and requested some again, so "
            "part of that run may have been served from the cache (raise BENCH_VARIED_URLS).",
        ]
    lines += ["", f"Goals met: {met} of {checked}."]
    lines += visible_section(results)
    material = []
    for size in results.sizes:
        for kind in VARIED:
            data = results.varied.get(size, {}).get(kind)
            if data is not None:
                material.append(
                    [
                        f"{size:,}",
                        kind,
                        f"{data['urls']:,}",
                        f"{data['marked']:,} {data['marked_means']}",
                        data["example"],
                    ]
                )
    if material:
        headers = ["size", "kind", "URLs", "of which", "first"]
        short = any(
            data["urls"] < data["wanted"]
            for kinds in results.varied.values()
            for data in kinds.values()
        )
        caption = "URL files (bench/varied_urls.py"
        caption += "; fewer than asked where the combinations ran out):" if short else "):"
        lines += ["", caption]
        lines += ["", markdown_table(headers, material, "llrll")]
    return lines


def visible_section(results):
    """The saves made during the varied list's load (kind varied-saving) and how long each
    took to show in every public output."""
    if not results.visible:
        return []
    rows, met = [], 0
    for (size, conns, run), data in sorted(results.visible.items()):
        ok = (
            not data["failed"]
            and not data["stale"]
            and data["max_ms"] is not None
            and data["max_ms"] < VISIBLE_WITHIN_MS
        )
        met += ok
        slowest = data.get("by_output_median_ms") or {}
        slowest = max(slowest, key=slowest.get) if slowest else "-"
        rows.append(
            [
                f"{size:,}",
                str(conns),
                str(run),
                f"{data['saves']:,}",
                "-" if data["median_ms"] is None else f"{data['median_ms']:,.0f} ms",
                "-" if data["max_ms"] is None else f"{data['max_ms']:,.0f} ms",
                slowest,
                f"{data['failed']:,}",
                f"{data['stale']:,}",
                f"every save < {VISIBLE_WITHIN_MS:,} ms",
                "PASS" if ok else "FAIL",
            ]
        )
    headers = ["size", "conns", "run", "saves", "median", "max", "slowest output (median)"]
    headers += ["not shown in 10 s", "stale after fresh", "goal", "result"]
    return [
        "",
        "Saves under the varied load (bench/visible.py, during each varied-saving run): an "
        "initiative's title saved as the admin does, then the case study, the list by last "
        "update, the list's search, the API's record and the API's search asked over HTTP "
        "until each showed it in "
        f"{next(iter(results.visible.values()))['confirm']} answers in a row; the time is "
        "from the save's commit to the first of those answers, for the slowest output.",
        "",
        markdown_table(headers, rows, "lrrrrrlrrll"),
        "",
        f"Saves goal met: {met} of {len(rows)}.",
    ]


def summary(results):
    """One line: how much was measured, what failed, and the largest size at most connections."""
    runs = [data for round_ in results.runs.values() for data in round_.values()]
    if not runs:
        return "Summary: nothing was measured."
    failed = sum(error_count(data) for data in runs)
    non2xx = sum(data["non2xx"] for data in runs)
    size = max(size for size, _, _ in results.runs)
    conns = max(results.connections(size))
    repeats = results.repeats(size, conns)
    ceiling = statistics.mean(results.runs[(size, conns, r)]["ceiling"]["rps"] for r in repeats)
    shares = []
    for page in PAGES[1:]:
        values = [results.share_of_ceiling(size, conns, r, page) for r in repeats]
        values = [v for v in values if v is not None]
        if values:
            shares.append(f"{page} {percent(statistics.mean(values))}")
    elapsed = dict(results.meta).get("elapsed", "?").split(",")[0]
    return (
        f"Summary: {len(runs)} wrk runs in {elapsed}, {failed} errors, {non2xx} non-2xx; "
        f"at {size:,} initiatives and {conns} connections the ceiling served "
        f"{ceiling:,.0f} req/s and {', '.join(shares)} of it "
        f"(mean of {len(repeats)} run{'s' if len(repeats) > 1 else ''})."
    )


def report(results):
    lines = ["# Catalogue benchmark", ""]
    lines += [f"- {name}: {value}" for name, value in results.meta]
    for size in results.sizes:
        lines += ["", f"## {size:,} published initiatives", ""]
        lines += ["SQL queries per page (Django test client, second request of two):", ""]
        lines += [query_section(results, size), ""]
        lines += ["Load (wrk; % of ceiling = req/s / ceiling's req/s in the same round):", ""]
        lines += [load_section(results, size)]
    if any(
        data["requests"] < FEW_REQUESTS
        for round_ in results.runs.values()
        for data in round_.values()
    ):
        lines += [
            "",
            f"Marked *: fewer than {FEW_REQUESTS} requests completed, so p50 and p99 are rough. "
            "wrk drops "
            "the requests still waiting when a run ends, so under queueing p99 understates "
            "the wait.",
        ]
    lines += cold_section(results)
    lines += ["", summary(results)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Results(sys.argv[1] if len(sys.argv) > 1 else "bench/results")))
