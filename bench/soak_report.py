"""Turn what bench/soak recorded into its report (results/soak.txt, Markdown); exit 1 when the
run failed: an error or non-2xx answer, a lost or late edit, growing memory, a worker that
restarted or logged an error.

Usage: .venv/bin/python bench/soak_report.py bench/results

Reads from that directory:
  soak-meta.tsv     name <TAB> value
  soak-prepare.json what bench/soak_prepare.py made (URL material, drafts)
  soak-runs.tsv     run name <TAB> JSON from bench/soak.lua
  soak-phases.tsv   phase <TAB> start (unix time) <TAB> 1-minute load average then
  soak-access.log   gunicorn's access log: <pid> status µs bytes method path?query
  soak-memory.tsv   unix time <TAB> pid <TAB> RSS kB <TAB> PSS kB (bench/soak_memory.py)
  soak-editor.txt   bench/soak_editor.py's output, its last line JSON
  soak-gunicorn.log gunicorn's own log
"""

import json
import os
import re
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

from report import duration, error_count, errors, markdown_table, percent

TYPES = ["list", "detail", "search", "export"]
WEIGHTS = {"list": 40, "detail": 35, "search": 20, "export": 5}  # as in bench/soak.lua
MAX_SLOPE = float(os.environ.get("SOAK_MAX_SLOPE", "3"))  # MB/min
MAX_GROWTH = float(os.environ.get("SOAK_MAX_GROWTH", "24"))  # MB
MAX_HOSTILE_RATIO = float(os.environ.get("SOAK_HOSTILE_MAX_RATIO", "3"))


def kind_of(path, query):
    """Which kind of request an access-log line is."""
    if "soak" in query or path.startswith(("/admin/", "/api/")):
        return "editor"  # the editors' requests and checks (bench/soak_editor.py)
    if path == "/bench/ceiling/":
        return "ceiling"
    if path.startswith("/initiatives/export."):
        return "export"
    if path == "/initiatives/":
        return "search" if re.search(r"(^|&)q=", query) else "list"
    if re.fullmatch(r"/initiatives/[^/]+/", path):
        return "detail"
    return "other"


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0


def slope(points):
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 2:
        return 0.0
    xs, ys = zip(*points, strict=True)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


class Soak:
    def __init__(self, directory):
        d = Path(directory)
        self.meta = dict(
            line.split("\t", 1) for line in (d / "soak-meta.tsv").read_text().splitlines()
        )
        self.prepared = json.loads((d / "soak-prepare.json").read_text())
        self.runs = {}
        for line in (d / "soak-runs.tsv").read_text().splitlines():
            name, data = line.split("\t", 1)
            self.runs[name] = json.loads(data)
        self.phases = []  # (name, start, load)
        for line in (d / "soak-phases.tsv").read_text().splitlines():
            name, start, load = line.split("\t")
            self.phases.append((name, float(start), load))
        self.requests = self.read_access_log(d / "soak-access.log")
        self.memory = defaultdict(list)  # pid -> [(time, rss MB, pss MB or None)]
        for line in (d / "soak-memory.tsv").read_text().splitlines():
            t, pid, rss, pss = line.split("\t")
            self.memory[int(pid)].append(
                (float(t), int(rss) / 1024, int(pss) / 1024 if pss else None)
            )
        editor_lines = (d / "soak-editor.txt").read_text().splitlines()
        found = [line[5:] for line in editor_lines if line.startswith("JSON ")]
        self.editor = json.loads(found[-1]) if found else None
        self.editor_output = [line for line in editor_lines if not line.startswith("JSON ")]
        self.gunicorn_log = (d / "soak-gunicorn.log").read_text()

    def read_access_log(self, path):
        """[(phase, kind, pid, status, µs, url)], each line in the phase of the last marker."""
        found, phase = [], "start"
        for line in path.read_text().splitlines():
            pid, status, micros, _, _, url = line.split(" ", 5)
            path_, _, query = url.partition("?")
            if path_ == "/healthz" and query.startswith("soak-phase="):
                phase = query.removeprefix("soak-phase=")
                continue
            found.append(
                (phase, kind_of(path_, query), int(pid.strip("<>")), int(status), int(micros), url)
            )
        return found

    def phase_window(self, name):
        names = [p[0] for p in self.phases]
        i = names.index(name)
        return self.phases[i][1], self.phases[i + 1][1]

    def load_at(self, name):
        return {p[0]: p[2] for p in self.phases}.get(name, "?")


def run_table(soak, failures):
    ceiling = soak.runs["ceiling"]["rps"]
    rows = []
    for name in ["ceiling", *TYPES, "warmup", "mixed", "ceiling-after"]:
        if name not in soak.runs:
            continue
        r = soak.runs[name]
        if error_count(r) or r["non2xx"]:
            failures.append(f"{name}: {errors(r)} errors, {r['non2xx']} non-2xx")
        label = {
            "ceiling": "ceiling (`/bench/ceiling/`)",
            "ceiling-after": "ceiling again, after the soak",
            "warmup": "mixed, warm-up (not measured)",
            "mixed": "**mixed: the soak**",
        }.get(name, f"{name} alone")
        rows.append(
            [
                label,
                f"{r['rps']:.1f}",
                percent(100 * r["rps"] / ceiling),
                duration(r["p50_us"]),
                duration(r["p90_us"]),
                duration(r["p99_us"]),
                duration(r["max_us"]),
                f"{r['requests']:,}",
                errors(r),
                str(r["non2xx"]),
                soak.load_at(name),
            ]
        )
    return markdown_table(
        [
            "run",
            "req/s",
            "of ceiling",
            "p50",
            "p90",
            "p99",
            "max",
            "requests",
            "errors",
            "non-2xx",
            "load avg",
        ],
        rows,
        "lrrrrrrrrrr",
    )


def mix_table(soak, failures):
    mixed = soak.runs["mixed"]
    ceiling = soak.runs["ceiling"]["rps"]
    served = [r for r in soak.requests if r[0] == "mixed"]
    total_time = sum(r[4] for r in served if r[1] in TYPES) or 1
    rows = []
    for kind in TYPES:
        sent = mixed["sent"].get(kind, 0)
        times = [r[4] for r in served if r[1] == kind]
        bad = Counter(r[3] for r in served if r[1] == kind and not 200 <= r[3] < 300)
        if bad:
            failures.append(f"mixed {kind}: non-2xx answers {dict(bad)}")
        alone = soak.runs.get(kind, {}).get("rps")
        rows.append(
            [
                kind,
                str(WEIGHTS[kind]),
                f"{sent:,}",
                f"{sent / mixed['seconds']:.1f}",
                f"{alone:.1f}" if alone else "-",
                percent(100 * alone / ceiling) if alone else "-",
                duration(percentile(times, 50)),
                duration(percentile(times, 90)),
                duration(percentile(times, 99)),
                duration(max(times, default=0)),
                percent(100 * sum(times) / total_time),
                str(sum(bad.values())),
            ]
        )
    return markdown_table(
        [
            "type",
            "weight",
            "sent",
            "req/s in the mix",
            "req/s alone",
            "alone, of ceiling",
            "server p50",
            "server p90",
            "server p99",
            "server max",
            "share of server time",
            "non-2xx",
        ],
        rows,
        "lrrrrrrrrrrr",
    )


def cache_lines(soak):
    """How often a URL, or its filters, had been asked for before: an upper bound on what the
    per-process caches could have answered."""
    seen_urls, seen_filters = set(), set()
    repeats, filter_repeats, total = Counter(), Counter(), Counter()
    for phase, kind, _, _, _, url in soak.requests:
        if kind not in TYPES:
            continue
        filters = re.sub(r"&?(page|sort)=[^&]*", "", url)
        if phase == "mixed":
            total[kind] += 1
            repeats[kind] += url in seen_urls
            filter_repeats[kind] += filters in seen_filters
        seen_urls.add(url)
        seen_filters.add(filters)
    parts = [
        f"{kind} {percent(100 * repeats[kind] / total[kind])}"
        + (
            f" ({percent(100 * filter_repeats[kind] / total[kind])} same filters)"
            if kind in ("list", "search")
            else ""
        )
        for kind in TYPES
        if total[kind]
    ]
    return "Requests of the soak whose URL had been asked for before in the run: " + ", ".join(
        parts
    )


def memory_section(soak, failures):
    start, end = soak.phase_window("mixed")
    half = start + (end - start) / 2
    rows = []
    for pid, samples in sorted(soak.memory.items()):
        window = [s for s in samples if start <= s[0] <= end]
        if not window:
            continue
        first, last = window[0], window[-1]
        rss_slope = slope([(t, rss) for t, rss, _ in window if t >= half])
        pss = [s for s in window if s[2] is not None]
        pss_slope = slope([(t, p) for t, _, p in pss if t >= half])
        growth = last[1] - first[1]
        if rss_slope > MAX_SLOPE:
            failures.append(f"worker {pid}: RSS grew {rss_slope:.1f} MB/min over the last half")
        if growth > MAX_GROWTH:
            failures.append(f"worker {pid}: RSS grew {growth:.1f} MB during the soak")
        rows.append(
            [
                str(pid),
                f"{samples[0][1]:.1f}",
                f"{first[1]:.1f}",
                f"{last[1]:.1f}",
                f"{max(s[1] for s in window):.1f}",
                f"{growth:+.1f}",
                f"{rss_slope:+.2f}",
                f"{pss[0][2]:.1f} / {pss[-1][2]:.1f} / {max(s[2] for s in pss):.1f}"
                if pss
                else "-",
                f"{pss_slope:+.2f}" if pss else "-",
                str(len(window)),
            ]
        )
    return markdown_table(
        [
            "worker",
            "RSS at boot",
            "RSS start",
            "RSS end",
            "RSS max",
            "growth",
            "RSS slope, last half (MB/min)",
            "PSS start / end / max",
            "PSS slope",
            "samples",
        ],
        rows,
        "lrrrrrrrrr",
    )


def editor_section(soak, failures):
    e = soak.editor
    if e is None:
        failures.append("editors: no result (see soak-editor.txt)")
        return "The editors' script gave no result:\n\n    " + "\n    ".join(soak.editor_output)
    failures += [f"editors: {f}" for f in e["failures"]]
    lines = [
        f"- An editor saved a draft (lessons changed): the POST took "
        f"{e.get('draft_save_seconds') or 0:.2f} s and redirected; the draft's public page "
        f"answered {e.get('draft_public_status')} (still not public).",
        f'- A publisher changed a draft\'s summary and pressed "Save and publish": the POST '
        f"took {e.get('publish_post_seconds') or 0:.2f} s and redirected to "
        f"`{e.get('publish_redirect')}`.",
    ]
    if "visible_after_seconds" in e:
        per = ", ".join(
            f"worker {pid}: first after {w['first_new_after_seconds']} s, "
            f"{w['new']} of {w['answers']} answers new"
            for pid, w in e.get("per_worker", {}).items()
        )
        lines.append(
            f"- The public page showed the new summary {e['visible_after_seconds']:.2f} s after "
            f"the publish answered (the first check's round trip under load); {e['polls']} "
            f"checks on fresh connections, {e['stale_answers']} stale; {per}."
        )
    if e.get("found_in"):
        lines.append(f"- Found in: {', '.join(e['found_in'])}.")
    if e.get("compared"):
        lines.append(
            f"- Before and after, in the database: {len(e['compared'])} fields and relations "
            "compared (every concrete field; drivers, themes, outcomes, barriers, places, "
            "partnerships, sources, metrics by id and content): only the edited field and the "
            "workflow's status, timestamps and user changed; one new revision each, by the "
            f'editor who saved (publisher\'s: "{e.get("revision_comment")}").'
        )
    lines.append(
        f"- Checks failed: {len(e['failures'])}"
        + (": " + "; ".join(e["failures"]) if e["failures"] else ".")
    )
    return "\n".join(lines)


def server_lines(soak, failures):
    log = soak.gunicorn_log
    boots = log.count("Booting worker")
    timeouts = log.count("WORKER TIMEOUT")
    tracebacks = log.count("Traceback")
    errors_ = len(re.findall(r"\[ERROR\]|^ERROR|Internal Server Error", log, re.M))
    workers = soak.meta.get("workers", "")
    at_end = soak.meta.get("workers at the end", "")
    if boots != len(workers.split(",")) or workers != at_end:
        failures.append(f"workers restarted: {workers} at the start, {at_end} at the end")
    if timeouts or tracebacks or errors_:
        failures.append(
            f"gunicorn log: {timeouts} timeouts, {tracebacks} tracebacks, {errors_} errors"
        )
    return (
        f"Workers {workers} at the start, {at_end} at the end ({boots} booted); gunicorn's log: "
        f"{timeouts} worker time-outs, {tracebacks} tracebacks, {errors_} error lines."
    )


def hostile_section(directory, failures):
    """The hostile phase (bench/soak_hostile.py), when it ran."""
    path = Path(directory) / "soak-hostile.json"
    if not path.exists():
        return "Not run (SOAK_HOSTILE=0)."
    h = json.loads(path.read_text())
    alone, beset = h["alone"], h["beset"]
    for name, part in (("alone", alone), ("beset", beset)):
        if part["errors"]:
            failures.append(
                f"hostile phase: the visitor's requests failed {name}: {part['errors']}"
            )
    ratio = h["p99_ratio"]
    if ratio is None or ratio > MAX_HOSTILE_RATIO:
        failures.append(
            f"hostile phase: the case study's p99 went from {alone['p99_ms']} ms to "
            f"{beset['p99_ms']} ms ({ratio}x; at most {MAX_HOSTILE_RATIO:g}x)"
        )
    rows = [
        [
            name,
            str(part["requests"]),
            *(str(part[k]) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")),
        ]
        for name, part in (("alone", alone), ("beset", beset))
    ]
    table = markdown_table(
        ["visitor", "requests", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows, "lrrrrr"
    )
    return (
        f"A visitor loaded `{h['path']}` {h['probe_rate']} times a second for "
        f"{h['duration_s']:g} s alone, then as long while {h['exporters']} clients downloaded "
        f"the full CSV export over and over (trying again 1 s after each refusal) and "
        f"{h['slow_clients']} slowloris sockets sent a header line every 2 s; gunicorn had the "
        f"production limits, ops/nginx.conf in front and an export pool of its own (1 worker, "
        f"2 threads, nice 10). p99 beset / alone: **{ratio}x** "
        f"(at most {MAX_HOSTILE_RATIO:g}x).\n\n{table}\n\nThe downloaders' answers: "
        f"{h['exports']} ({h['export_mb']} MB); the slow sockets: {h['slow']}."
    )


def report(directory):
    soak = Soak(directory)
    failures = []
    hostile = hostile_section(directory, failures)
    runs = run_table(soak, failures)
    mix = mix_table(soak, failures)
    memory = memory_section(soak, failures)
    editor = editor_section(soak, failures)
    server = server_lines(soak, failures)
    p = soak.prepared
    mixed = soak.runs["mixed"]
    ceiling = soak.runs["ceiling"]["rps"]
    out = ["# Load and soak test", ""]
    out += [f"- **{name}**: {value}" for name, value in soak.meta.items()]
    out += [
        f"- **catalogue**: {p['published']:,} published initiatives; URL material: every "
        f"published slug, {sum(p['terms'].values())} filter values "
        f"({', '.join(f'{k} {v}' for k, v in p['terms'].items())}), start years "
        f"{p['years'][0]}-{p['years'][1]}, {p['words']} search words matching "
        f"{p['word_matches'][0]}-{p['word_matches'][2]} records (median "
        f"{p['word_matches'][1]}), {p['export_queries']} export queries selecting "
        f"{p['export_records'][0]}-{p['export_records'][2]} records (median "
        f"{p['export_records'][1]})",
        "",
        "## Verdict",
        "",
        "**PASS**" if not failures else "**FAIL**",
        "",
        *(f"- {f}" for f in failures),
        "",
        f"Mixed traffic: {mixed['rps']:.1f} req/s ({percent(100 * mixed['rps'] / ceiling)} of "
        f"the ceiling's {ceiling:.0f} req/s), p50 {duration(mixed['p50_us'])}, p99 "
        f"{duration(mixed['p99_us'])}, {mixed['requests']:,} requests, "
        f"{error_count(mixed)} errors, {mixed['non2xx']} non-2xx.",
        "",
        "## Runs",
        "",
        "wrk's figures, from sending a request to its last byte, at the same connection count. "
        "*of ceiling*: req/s divided by the ceiling's before the soak. *load avg*: the "
        "machine's 1-minute load average as the run started.",
        "",
        runs,
        "",
        "## The mix",
        "",
        "*sent*: requests of each type wrk sent in the measured run (bench/soak.lua counts "
        "them). *server* times come from gunicorn's access log: from the request read to "
        "the response written, so without the wait for a free thread. *req/s alone*: the "
        "type's own run above.",
        "",
        mix,
        "",
        cache_lines(soak) + ". Caches are per process and keyed by the catalogue version, "
        "which the publish changed mid-run, so fewer than these were answered from a cache.",
        "",
        "## Memory",
        "",
        f"Each worker sampled once a second (MB). *start* and *end*: the measured run's first "
        f"and last samples; *slope*: least squares over its last half. Fails above "
        f"{MAX_SLOPE:g} MB/min or {MAX_GROWTH:g} MB growth.",
        "",
        memory,
        "",
        "## Editors during the load",
        "",
        editor,
        "",
        "## Hostile clients",
        "",
        hostile,
        "",
        "## Server",
        "",
        server,
        "",
    ]
    return "\n".join(out), failures


if __name__ == "__main__":
    text, failures = report(sys.argv[1] if len(sys.argv) > 1 else "bench/results")
    print(text)
    sys.exit(1 if failures else 0)
