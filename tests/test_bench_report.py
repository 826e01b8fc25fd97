"""bench/report.py's cold-path section and bench/varied_urls.py's drawing, without a server."""

import importlib.util
import json
import random
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = load("report")
varied_urls = load("varied_urls")


def wrk(rps, p50_ms, p99_ms, requests=500, **extra):
    return {
        "requests": requests,
        "seconds": 5.0,
        "rps": rps,
        "p50_us": int(p50_ms * 1000),
        "p99_us": int(p99_ms * 1000),
        "mean_us": int(p50_ms * 1000),
        "max_us": int(p99_ms * 1000),
        "non2xx": 0,
        "connect_errors": 0,
        "read_errors": 0,
        "write_errors": 0,
        "timeouts": 0,
        **extra,
    }


def write_results(directory, rows, varied=()):
    (directory / "meta.tsv").write_text("started\tnow\nelapsed\t1 min 0 s, including setup\n")
    (directory / "runs.tsv").write_text(
        "".join(
            f"{size}\t{page}\t{conns}\t1\t{json.dumps(data)}\n" for size, page, conns, data in rows
        )
    )
    if varied:
        (directory / "varied.tsv").write_text(
            "".join(f"{size}\t{json.dumps(data)}\n" for size, data in varied)
        )


def cached_pages(size, conns):
    return [
        (size, "ceiling", conns, wrk(4000, 0.4, 1.5)),
        (size, "detail", conns, wrk(800, 2, 20)),
        (size, "list", conns, wrk(400, 4, 30)),
        (size, "search", conns, wrk(380, 4.5, 30)),
    ]


def test_cold_path_section_checks_the_goals_at_two_connections(tmp_path):
    rows = [
        *cached_pages(10000, 2),
        (10000, "varied-list", 2, wrk(160, 12, 40, urls=20000, repeated=0)),  # 4%, 12 ms
        (10000, "varied-search", 2, wrk(100, 12, 40, urls=20000, repeated=0)),  # 2.5%
        (10000, "varied-insights", 2, wrk(20, 100, 300, urls=14000, repeated=0)),
        *cached_pages(10000, 16),
        (10000, "varied-list", 16, wrk(10, 900, 1500, requests=40, urls=20000, repeated=3)),
    ]
    material = {
        "kind": "varied-list",
        "urls": 20000,
        "wanted": 20000,
        "marked": 4000,
        "marked_means": "on page 2-4",
        "example": "/initiatives/?theme=cloud",
        "seconds": 0.1,
    }
    write_results(tmp_path, rows, [(10000, material)])
    text = report.report(report.Results(tmp_path))

    section = text.split("## Cold path (varied URLs)")[1]
    lines = {
        line.split("|")[2].strip() + " " + line.split("|")[3].strip(): line
        for line in section.splitlines()
        if line.startswith("| 10,000")
    }
    assert "4.0%" in lines["varied-list 2"] and lines["varied-list 2"].rstrip(" |").endswith("PASS")
    assert lines["varied-search 2"].rstrip(" |").endswith("FAIL")  # 2.5% of the ceiling
    assert lines["varied-insights 2"].rstrip(" |").endswith("-")  # no goal at 10,000
    assert "40*+" in lines["varied-list 16"]  # few requests, and URLs repeated
    assert "Goals met: 1 of 2." in section
    assert "Marked +" in section
    assert "/initiatives/?theme=cloud" in section
    # The cached pages' table holds only the four pages.
    load_table = text.split("## Cold path")[0]
    assert "varied-" not in load_table


def test_saves_under_the_varied_load_are_checked_against_one_second(tmp_path):
    rows = [
        *cached_pages(10000, 2),
        (10000, "varied-list", 2, wrk(160, 12, 40, urls=20000, repeated=0)),
        (10000, "varied-saving", 2, wrk(150, 13, 45, urls=20000, repeated=0)),
    ]
    write_results(tmp_path, rows)

    def saves(median, slowest, failed=0, stale=0):
        return {
            "saves": 5,
            "failed": failed,
            "stale": stale,
            "confirm": 3,
            "median_ms": median,
            "max_ms": slowest,
            "by_output_median_ms": {"case study": median / 2, "API search": median},
        }

    (tmp_path / "visible.tsv").write_text(
        f"10000\t2\t1\t{json.dumps(saves(120, 400))}\n"
        f"100000\t2\t1\t{json.dumps(saves(300, 1200))}\n"
        f"1000000\t2\t1\t{json.dumps(saves(200, 500, stale=1))}\n"
    )
    section = report.report(report.Results(tmp_path)).split("## Cold path (varied URLs)")[1]
    assert "| 10,000 | varied-saving |" in section
    results = {
        line.split("|")[1].strip(): line.rstrip(" |")
        for line in section.split("Saves under the varied load")[1].splitlines()
        if line.startswith("| 1")
    }
    assert results["10,000"].endswith("PASS") and "API search" in results["10,000"]
    assert results["100,000"].endswith("FAIL")  # one save took 1.2 s
    assert results["1,000,000"].endswith("FAIL")  # an answer went stale after a fresh one
    assert "Saves goal met: 1 of 3." in section


def test_no_cold_path_section_without_varied_runs(tmp_path):
    write_results(tmp_path, cached_pages(10000, 2))
    assert "Cold path" not in report.report(report.Results(tmp_path))


@pytest.mark.parametrize(
    ("goal", "p50_ms", "p99_ms", "share", "met"),
    [
        (report.Goal(p50_ms=250, p99_ms=1000), 200, 900, None, True),
        (report.Goal(p50_ms=250, p99_ms=1000), 200, 1100, None, False),
        (report.Goal(1.5, 40), 30, 500, 1.6, True),
        (report.Goal(1.5, 40), 30, 500, None, False),
    ],
)
def test_goal(goal, p50_ms, p99_ms, share, met):
    assert goal.met(wrk(1, p50_ms, p99_ms), share) is met


def catalogue_stub():
    """A Catalogue of 8 initiatives (ids 1-8), without a database."""
    catalogue = object.__new__(varied_urls.Catalogue)
    catalogue.published = 8
    catalogue.counted = {}
    catalogue.bits = {
        "theme": {"cloud": 0b111111110, "data": 0b000001110},
        "driver": {"technology": 0b000000110},
    }
    return catalogue


def test_count_ands_parameters_and_ors_values():
    catalogue = catalogue_stub()
    assert catalogue.count({}) == 8
    assert catalogue.count({"theme": ["data"]}) == 3
    assert catalogue.count({"theme": ["data", "cloud"]}) == 8
    assert catalogue.count({"theme": ["cloud"], "driver": ["technology"]}) == 2


def test_list_filters_come_from_the_initiatives_own_terms():
    terms = {
        "theme": ["cloud", "data"],
        "driver": ["technology"],
        "outcome": ["savings"],
        "sector": ["health"],
        "start_year": [2015],
    }
    rng = random.Random(1)
    for _ in range(200):
        filters = varied_urls.list_filters(rng, terms)
        assert 1 <= len(filters["theme"]) <= 2
        for param, values in filters.items():
            assert set(values) <= set(terms[param])
        insights = varied_urls.any_filters(rng, terms, 2, years=True)
        if "year_from" in insights:
            assert insights["year_from"][0] <= 2015 <= insights["year_to"][0]
    assert varied_urls.query({"theme": ["a", "b"]}, page=3, sort=None) == "theme=a&theme=b&page=3"
