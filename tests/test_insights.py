"""/insights/: every figure is a link to a list, and equals that list's total.

Each chart counts with every filter in use except its own (as the list's filter panel does),
and its links keep the other filters and put the figure's own value in place of its filter's.
"""

import csv
import html
import io
import random
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.http import QueryDict

from catalogue import insights
from catalogue.filters import InitiativeFilter
from catalogue.models import Driver, Initiative, Outcome, Sector
from catalogue.vocabularies import terms
from tests.factories import DraftFactory, InitiativeFactory, OrganisationFactory, term

pytestmark = pytest.mark.django_db

INSIGHTS = "/insights/"
LIST = "/initiatives/"

THEMES = ["cloud", "data-analytics", "open-data", "skills"]
DRIVERS = ["technology", "crisis", "public-demand"]
OUTCOMES = ["cost-savings", "service-quality", "faster-services"]
SECTORS = ["health", "education", "general-public-services"]
STAGES = ["pilot", "implemented", "scaled"]
COUNTRIES = ["GB", "EE", "FR"]

# A figure: <a class="govuk-link…" href="/initiatives/?…">12<span class="govuk-visually-hidden">
FIGURE = re.compile(
    r'<a class="govuk-link[^"]*" href="(/initiatives/[^"]*)">([\d,]+)'
    r'<span class="govuk-visually-hidden"> ([^<]*)</span></a>'
)
TOTAL = re.compile(
    r'<a class="govuk-link" href="(/initiatives/[^"]*)">([\d,]+) published case stud'
)


def random_catalogue(rng, size=30):
    organisations = [OrganisationFactory(kind=kind) for kind in ("local-authority", "nhs-body")]
    for _ in range(size):
        InitiativeFactory(
            lead_organisation=rng.choice(organisations),
            themes=rng.sample(THEMES, rng.randint(1, 3)),
            drivers=rng.sample(DRIVERS, rng.randint(1, 2)),
            outcomes=rng.sample(OUTCOMES, rng.randint(1, 2)),
            sector=term(Sector, rng.choice(SECTORS)),
            stage=rng.choice(STAGES),
            countries=rng.sample(COUNTRIES, rng.randint(1, 2)),
            start_year=rng.choice([None, *range(2014, 2022)]),
            title=rng.choice(["Housing chatbot", "Data platform", "Skills academy"]),
            source=False,
        )
    # Drafts, in review and archived: tagged with everything, never counted.
    for status in ("draft", "in-review", "archived"):
        DraftFactory(status=status, themes=THEMES, drivers=DRIVERS, outcomes=OUTCOMES)


def figures(response):
    """[(url, number, what it counts)] of every linked figure on the page, total included."""
    text = response.text
    found = [
        (html.unescape(url), int(n.replace(",", "")), what) for url, n, what in FIGURE.findall(text)
    ]
    found += [
        (html.unescape(url), int(n.replace(",", "")), "total") for url, n in TOTAL.findall(text)
    ]
    return found


def list_total(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.context["problems"] == [], url
    return response.context["total"]


def query_of(url):
    return {name: sorted(values) for name, values in parse_qs(urlsplit(url).query).items()}


# What one figure's link may set for itself: the filter its chart or table leaves out.
OWN = [{"theme"}, {"driver"}, {"outcome"}, {"sector"}, {"stage"}, {"year_from", "year_to"}]
OWN.append({"driver", "outcome"})
OWN += [{"barrier"}, {"country"}, {"innovation_type"}, {"evidence"}]
OWN.append({"theme", "year_from", "year_to"})


QUERIES = [
    {},
    {"theme": "open-data"},
    {"theme": ["cloud", "skills"], "country": "GB"},
    {"driver": "crisis", "outcome": "cost-savings", "stage": ["pilot", "scaled"]},
    {"year_from": "2016", "year_to": "2019", "sector": "health"},
    {"q": "housing", "kind": "nhs-body", "country": ["EE", "FR"]},
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "&".join(q) or "unfiltered")
def test_every_figure_equals_the_total_of_the_list_it_links_to(client, query):
    random_catalogue(random.Random(str(query)))
    response = client.get(INSIGHTS, query)
    assert response.status_code == 200
    found = figures(response)
    charts = response.context["charts"]
    cells = [
        cell
        for table in ("cross", "theme_year")
        for row in response.context[table]["rows"]
        for cell in row["cells"]
    ]
    linked = [bar for chart in charts for bar in chart["bars"] if bar.count] + [
        cell for cell in cells if cell.count
    ]
    assert len(found) == len(linked) + 1, "every non-zero figure, and the total, is a link"
    assert len(found) > 20
    for url, number, what in found:
        assert list_total(client, url) == number, (url, what)


@pytest.mark.parametrize("query", QUERIES[1:], ids=lambda q: "&".join(q))
def test_links_keep_the_other_filters_in_use(client, query):
    random_catalogue(random.Random(str(query)))
    response = client.get(INSIGHTS, query)
    given = {
        name: sorted([values] if isinstance(values, str) else values)
        for name, values in query.items()
    }
    for url, _, what in figures(response):
        link = query_of(url)
        changed = {name for name in {*link, *given} if link.get(name) != given.get(name)}
        assert any(changed <= own for own in OWN), (url, what)
        assert all(len(link[name]) == 1 for name in changed), "its own value replaces them"
        if what == "total":
            assert changed == set()


def test_a_filtered_page_shows_the_shape_of_the_filtered_set(client):
    for _ in range(3):
        InitiativeFactory(themes=["open-data"], drivers=["crisis"], countries=["GB"])
    InitiativeFactory(themes=["open-data"], drivers=["technology"], countries=["FR"])
    InitiativeFactory(themes=["cloud"], drivers=["technology"], countries=["GB"])
    InitiativeFactory(themes=["cloud", "open-data"], drivers=["technology"], countries=["GB"])
    response = client.get(INSIGHTS, {"theme": "open-data", "country": "GB"})
    assert response.context["total"] == 4
    charts = {chart["name"]: chart for chart in response.context["charts"]}

    drivers = {bar.label: bar for bar in charts["driver"]["bars"]}
    assert (drivers["Crisis"].count, drivers["Technology"].count) == (3, 1)
    assert query_of(drivers["Crisis"].url) == {
        "theme": ["open-data"],
        "country": ["GB"],
        "driver": ["crisis"],
    }
    assert not charts["driver"]["in_use"]

    # The theme chart leaves out the theme filter, and says so.
    themes = {bar.label: bar for bar in charts["theme"]["bars"]}
    assert (themes["Open data"].count, themes["Open data"].chosen) == (4, True)
    assert (themes["Cloud"].count, themes["Cloud"].chosen) == (2, False)
    assert query_of(themes["Cloud"].url) == {"theme": ["cloud"], "country": ["GB"]}
    assert charts["theme"]["in_use"]
    assert "uses all your filters except theme" in response.text
    # Marked in the theme chart, the theme-by-year table and the country chart (GB).
    assert response.text.count('<span class="app-chosen">(chosen)</span>') == 3

    chips = [chip["label"] for chip in response.context["active_filters"]]
    assert chips == ["Theme: Open data", "Country: United Kingdom"]
    assert 'href="?country=GB"' in response.text, "a chip removes its own filter only"
    assert "<title>Insights (filtered, 4)" in response.text


def test_bars_and_cells_are_drawn_with_classes_in_proportion(client):
    for _ in range(4):
        InitiativeFactory(themes=["cloud"], drivers=["crisis"], outcomes=["cost-savings"])
    for _ in range(2):
        InitiativeFactory(themes=["skills"], drivers=["crisis"], outcomes=["participation"])
    InitiativeFactory(themes=["open-data"], drivers=["technology"], outcomes=["cost-savings"])
    response = client.get(INSIGHTS)
    themes = {bar.label: bar for bar in response.context["charts"][0]["bars"]}
    assert [
        themes[name].width for name in ("Cloud", "Skills", "Open data", "AI and automation")
    ] == [
        100,
        50,
        25,
        0,
    ]
    assert "app-bar--100" in response.text and "app-bar--25" in response.text
    assert list(response.context["charts"][0]["bars"])[:3] == [
        themes["Cloud"],
        themes["Skills"],
        themes["Open data"],
    ], "biggest first"
    rows = {
        row["label"]: {c.outcome: c for c in row["cells"]}
        for row in response.context["cross"]["rows"]
    }
    assert rows["Crisis"]["Cost savings"].level == 4
    assert rows["Crisis"]["Participation"].level == 2
    assert rows["Technology"]["Cost savings"].level == 1
    assert (rows["Technology"]["Participation"].level, rows["Technology"]["Participation"].url) == (
        0,
        "",
    )
    assert "app-heat--4" in response.text


def test_a_bar_of_any_size_is_drawn():
    assert [insights._width(n, 1000) for n in (0, 1, 4, 5, 500, 1000)] == [0, 1, 1, 1, 50, 100]


def test_every_cross_tab_cell_equals_the_list_for_its_driver_and_outcome(client):
    random_catalogue(random.Random(7), size=25)
    query = {"country": "GB", "driver": "crisis"}
    response = client.get(INSIGHTS, query)
    cross = response.context["cross"]
    assert [column["chosen"] for column in cross["columns"]].count(True) == 0
    assert [row["chosen"] for row in cross["rows"]].count(True) == 1
    assert cross["in_use"] == ["driver"]
    nonzero = 0
    drivers, outcomes = terms(Driver).values(), terms(Outcome).values()
    for row, driver in zip(cross["rows"], drivers, strict=True):
        assert row["label"] == driver.name
        for cell, outcome in zip(row["cells"], outcomes, strict=True):
            assert cell.outcome == outcome.name
            url = f"{LIST}?country=GB&driver={driver.slug}&outcome={outcome.slug}"
            expected = list_total(client, url)
            assert cell.count == expected, (driver, outcome)
            if cell.count:
                nonzero += 1
                assert query_of(cell.url) == {
                    "country": ["GB"],
                    "driver": [driver.slug],
                    "outcome": [outcome.slug],
                }
                assert f'href="{html.escape(cell.url)}">{cell.count}<' in response.text
            else:
                assert cell.url == ""
    assert nonzero > 3


def test_start_years_link_to_one_year_and_mark_the_chosen_range(client):
    InitiativeFactory(start_year=2015)
    InitiativeFactory(start_year=2018)
    InitiativeFactory(start_year=2018)
    InitiativeFactory(start_year=None)
    response = client.get(INSIGHTS, {"year_from": "2016"})
    [years] = [chart for chart in response.context["charts"] if chart["name"] == "year"]
    assert [(bar.label, bar.count, bar.chosen) for bar in years["bars"]] == [
        ("2015", 1, False),
        ("2016", 0, True),
        ("2017", 0, True),
        ("2018", 2, True),
    ], "every year from the first to the last; those in the range marked"
    assert query_of(years["bars"][3].url) == {"year_from": ["2018"], "year_to": ["2018"]}
    assert response.context["total"] == 2
    assert "1 case study has no start year recorded" in response.text


def test_drafts_are_never_counted(client):
    InitiativeFactory(themes=["cloud"], drivers=["crisis"], outcomes=["cost-savings"])
    for status in ("draft", "in-review", "archived"):
        DraftFactory(
            status=status,
            themes=["cloud", "skills"],
            drivers=["crisis", "technology"],
            outcomes=["cost-savings", "participation"],
            start_year=1999,
        )
    response = client.get(INSIGHTS)
    assert response.context["total"] == 1
    charts = {chart["name"]: chart for chart in response.context["charts"]}
    themes = {bar.label: bar.count for bar in charts["theme"]["bars"]}
    assert (themes["Cloud"], themes["Skills"]) == (1, 0)
    assert [bar.label for bar in charts["year"]["bars"]] == ["2020"]
    assert (
        sum(cell.count for row in response.context["cross"]["rows"] for cell in row["cells"]) == 1
    )
    assert "theme=skills" not in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("theme=no-such-theme&country=GB", "There is no theme called “no-such-theme”"),
        ("year_from=abc&country=GB", "Started from: “abc” was ignored."),
        ("year_to=99999999999999999999&country=GB", "Started up to:"),
        ("country=ZZ&country=GB", "There is no country called “ZZ”"),
        ("q=a&q=b&country=GB", "Search was given 2 times"),
        ("stage=nope&stage=&country=GB", "There is no stage called “nope”"),
    ],
)
def test_bad_filter_values_are_dropped_with_a_message(client, query, message):
    InitiativeFactory(countries=["GB"])
    InitiativeFactory(countries=["FR"])
    response = client.get(f"{INSIGHTS}?{query}")
    assert response.status_code == 200
    assert any(problem.startswith(message) for problem in response.context["problems"])
    assert "Some of your filters could not be used" in response.text
    assert response.context["total"] == (0 if query.startswith("q=") else 1)
    for url, _, what in figures(response):
        link = query_of(url)
        # (The country chart's own links put their country in place of the filter's.)
        if not what.endswith("France"):
            assert link["country"] == ["GB"], "the usable filters are kept"
        assert not {"abc", "no-such-theme", "ZZ", "nope", "a"} & {
            value for values in link.values() for value in values
        }, "the unusable ones are not"


@pytest.mark.parametrize(
    "query",
    [
        "theme=%F0%9F%92%A9",
        "year_from=2030&year_to=2010",
        "driver=crisis&driver=crisis&outcome=",
        "q=' OR 1=1 --&theme={{7*7}}",
        "sort=title&sort=-title&page=x",
        "q=" + "x" * 300,
    ],
)
def test_hostile_queries_never_500(client, query):
    InitiativeFactory()
    assert client.get(f"{INSIGHTS}?{query}").status_code == 200


def test_a_sort_from_the_list_is_set_aside(client):
    InitiativeFactory(themes=["cloud"])
    response = client.get(INSIGHTS, {"theme": "cloud", "sort": ["title", "bogus"], "page": "2"})
    assert response.context["problems"] == []
    assert [chip["label"] for chip in response.context["active_filters"]] == ["Theme: Cloud"]
    for url, _, _ in figures(response):
        assert not {"sort", "page"} & set(query_of(url)), url


def test_cached_figures_never_carry_another_querys_problems(client):
    InitiativeFactory(themes=["cloud"])
    first = client.get(INSIGHTS, {"theme": ["cloud", "nonsense"]})
    assert "There is no theme called “nonsense”" in first.text
    second = client.get(INSIGHTS, {"theme": "cloud"})
    assert second.context["problems"] == []
    assert "Some of your filters could not be used" not in second.text
    assert second.text.count('href="/initiatives/?theme=cloud&amp;driver=technology"') == 1
    third = client.get(INSIGHTS, {"theme": ["cloud", "other-nonsense"]})
    assert "There is no theme called “other-nonsense”" in third.text
    assert "“nonsense”" not in third.text


def inline_code(text):
    """Inline scripts without a nonce, style elements and attributes: what the CSP blocks."""
    scripts = re.findall(r"<script\b[^>]*>", text)
    blocked = [s for s in scripts if "src=" not in s and "nonce=" not in s]
    styles = [s for s in re.findall(r"<style\b[^>]*>", text) if "nonce=" not in s]
    return blocked + styles + re.findall(r"<[^>]+\sstyle=", text)


def test_page_works_under_the_content_security_policy_with_one_h1(client):
    random_catalogue(random.Random(3), size=20)
    response = client.get(INSIGHTS, {"theme": "cloud", "country": "GB"})
    text = response.text
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    assert inline_code(text) == []
    assert text.count("<h1") == 1
    assert re.search(r"<title>Insights \(filtered, \d+\) \u2013 ", text)
    drawn = [chart for chart in response.context["charts"] if not chart["empty"]]
    assert {chart["name"] for chart in drawn} >= {"theme", "driver", "year", "country"}
    assert text.count("<caption") == len(drawn) + 2, "each chart with figures, and two tables"
    assert text.count('<th scope="row"') >= 6 + 12 + 9 + 10 + 5
    assert '<nav aria-label="Menu"' in text
    assert 'href="/insights/" aria-current="page">Insights</a>' in text


def test_every_class_the_page_uses_is_in_the_compiled_css(client):
    """The committed main.css was rebuilt from the Sass (make css) with the page's styles."""
    random_catalogue(random.Random(5), size=15)
    text = client.get(INSIGHTS, {"year_from": "2016"}).text
    used = {name for names in re.findall(r'class="([^"]*)"', text) for name in names.split()}
    used = {name for name in used if name.startswith("app-")}
    assert {"app-chart__bar", "app-bar--100", "app-chosen"} <= used
    css = (settings.BASE_DIR / "static" / "css" / "main.css").read_text()
    defined = set(re.findall(r"\.(app-[\w-]+)", css))
    assert used - defined == set()
    assert {f"app-bar--{n}" for n in range(101)} <= defined
    assert {f"app-heat--{n}" for n in range(5)} <= defined


# SQLite, which has no catalogue version to key a cache by: the vocabularies (once per
# request), then one statement for every figure.
SQLITE_QUERIES = ["the vocabularies", "every count, in one statement"]
# PostgreSQL, once this query has been seen in this state of the catalogue.
POSTGRES_QUERIES = ["the catalogue version"]
# PostgreSQL, after any write (a new version): the version, the vocabularies (cached under
# it) and the statement.
POSTGRES_FRESH_QUERIES = 3
QUERY_COUNT = len(SQLITE_QUERIES if connection.vendor == "sqlite" else POSTGRES_QUERIES)
FRESH_QUERY_COUNT = 2 if connection.vendor == "sqlite" else POSTGRES_FRESH_QUERIES


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"theme": "cloud"},
        {"theme": ["cloud", "open-data"], "driver": "crisis", "q": "housing"},
        {
            "theme": ["cloud", "skills"],
            "driver": ["crisis", "technology"],
            "outcome": "cost-savings",
            "barrier": "funding",
            "sector": "health",
            "stage": ["implemented", "pilot"],
            "country": ["GB", "EE"],
            "kind": "local-authority",
            "year_from": "2010",
            "year_to": "2030",
            "q": "housing",
        },
    ],
    ids=["unfiltered", "one-facet", "three-facets-and-search", "every-filter"],
)
def test_query_count_is_constant(client, django_assert_num_queries, query, settings):
    # Counted with SQL, as the first request after a write is (the facet index is rebuilt
    # in the background meanwhile; tests/test_facet_index.py).
    settings.CATALOGUE_FACET_INDEX = "off"
    random_catalogue(random.Random(1), size=5)
    client.get(INSIGHTS, query)
    with django_assert_num_queries(QUERY_COUNT):
        small = client.get(INSIGHTS, query)
    random_catalogue(random.Random(2), size=40)
    with django_assert_num_queries(FRESH_QUERY_COUNT):
        large = client.get(INSIGHTS, query)
    with django_assert_num_queries(QUERY_COUNT):
        assert client.get(INSIGHTS, query).context["total"] == large.context["total"]
    expected = InitiativeFilter(
        QueryDict(urlencode(query, doseq=True)), queryset=Initiative.objects.published()
    ).qs.count()
    assert large.context["total"] == expected
    assert small.context["total"] <= large.context["total"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="counts are cached on PostgreSQL")
def test_figures_are_cached_until_the_catalogue_changes(
    client, django_assert_num_queries, settings
):
    settings.CATALOGUE_FACET_INDEX = "off"  # as the first request after a write
    InitiativeFactory(themes=["cloud"])
    client.get(INSIGHTS)
    with django_assert_num_queries(1):
        assert client.get(INSIGHTS).context["total"] == 1
    draft = DraftFactory(themes=["cloud"])
    draft.status = Initiative.Status.PUBLISHED
    draft.save()
    with django_assert_num_queries(POSTGRES_FRESH_QUERIES):
        response = client.get(INSIGHTS)
    themes = {bar.label: bar.count for bar in response.context["charts"][0]["bars"]}
    assert (response.context["total"], themes["Cloud"]) == (2, 2)


def test_each_table_downloads_as_csv_with_the_same_figures(client):
    random_catalogue(random.Random("csv"))
    query = {"theme": "open-data", "sort": "title"}
    page = client.get(INSIGHTS, query)
    for chart in page.context["charts"]:
        if chart["empty"]:
            continue
        url = f"/insights/{chart['slug']}.csv"
        assert f'href="{url}?theme=open-data"' in page.text
        response = client.get(url, query)
        assert response["Content-Type"].startswith("text/csv")
        header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
        assert header == [chart["column"], "Case studies"]
        assert rows == [[bar.label, str(bar.count)] for bar in chart["bars"]]
    for table, slug in (("cross", "drivers-by-outcome"), ("theme_year", "themes-by-start-year")):
        response = client.get(f"/insights/{slug}.csv", query)
        header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
        grid = page.context[table]
        assert header[1:] == [column["label"] for column in grid["columns"]]
        assert rows == [
            [row["label"], *(str(cell.count) for cell in row["cells"])] for row in grid["rows"]
        ]
    assert client.get("/insights/nothing.csv").status_code == 404


def test_theme_by_year_and_the_new_charts_count_published_case_studies(client):
    InitiativeFactory(themes=["cloud"], start_year=2019, countries=["EE"], evidence_level=3)
    InitiativeFactory(themes=["cloud", "skills"], start_year=2021, innovation_type="mission")
    InitiativeFactory(themes=["cloud"], start_year=None, barriers=["funding"])
    DraftFactory(themes=["cloud"], start_year=2019)
    response = client.get(INSIGHTS)
    grid = response.context["theme_year"]
    assert [c["label"] for c in grid["columns"]] == ["2019", "2020", "2021"]
    by_theme = {row["label"]: [cell.count for cell in row["cells"]] for row in grid["rows"]}
    assert by_theme["Cloud"] == [1, 0, 1]
    assert by_theme["Skills"] == [0, 0, 1]
    charts = {
        c["name"]: {bar.label: bar.count for bar in c["bars"]} for c in response.context["charts"]
    }
    assert charts["country"] == {"Estonia": 1}
    assert charts["barrier"]["Funding"] == 1
    assert charts["innovation_type"]["Mission-oriented"] == 1
    assert charts["evidence"]["3: causal impact shown"] == 1
    assert charts["evidence"]["1: described"] == 2
