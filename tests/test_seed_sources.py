"""The seed catalogue held to its sources: every passage it quotes is in the article it cites,
word for word, every metric's figure is in its passage, and every record quotes something.

The articles are `../shared/seeds/*.txt` beside the checkout (on CI too). Without them these
tests skip, except on CI (CI=1), where a missing directory fails the run.
"""

import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

FIXTURE = settings.BASE_DIR / "fixtures" / "catalogue.json"
SEEDS = Path(settings.BASE_DIR).resolve().parent / "shared" / "seeds"


def words(text):
    """Text with every run of whitespace one space, so line breaks and indents never
    decide whether a passage is in an article."""
    return " ".join(text.split())


def figure_forms(value):
    """How a metric's value may be written in prose: 25.00 as "25", "25.0" or "25.00"."""
    number = Decimal(value)
    plain = f"{number.normalize():f}"
    return {plain, f"{number:f}", f"{number:,f}", f"{number.normalize():,f}"}


@pytest.fixture(scope="module")
def articles():
    if not SEEDS.is_dir():
        message = f"The seed articles are not at {SEEDS}."
        if os.environ.get("CI") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return {path.name: words(path.read_text(encoding="utf-8")) for path in SEEDS.glob("*.txt")}


@pytest.fixture(scope="module")
def fixture():
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    by_model = {}
    for row in rows:
        by_model.setdefault(row["model"], {})[row["pk"]] = row["fields"]
    return by_model


def test_every_source_names_its_seed_article(fixture, articles):
    for pk, source in fixture["catalogue.source"].items():
        assert source["copy_file"] in articles, f"source {pk} names {source['copy_file']!r}"


def test_every_quote_is_in_its_article_word_for_word(fixture, articles):
    sources = fixture["catalogue.source"]
    for pk, quote in fixture["catalogue.quote"].items():
        source = sources[quote["source"]]
        assert source["initiative"] == quote["initiative"], f"quote {pk} cites another record"
        article = articles[source["copy_file"]]
        assert words(quote["text"]) in article, (
            f"quote {pk} is not in {source['copy_file']}: {quote['text']!r}"
        )


def test_every_metric_figure_is_in_its_quote(fixture):
    quotes = fixture["catalogue.quote"]
    for pk, metric in fixture["catalogue.metric"].items():
        assert metric["quote"] is not None and metric["source"] is not None, f"metric {pk}"
        quote = quotes[metric["quote"]]
        assert quote["source"] == metric["source"], f"metric {pk}: its quote is another source's"
        text = words(quote["text"])
        found = [
            form
            for form in figure_forms(metric["value"])
            if re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", text)
        ]
        assert found, f"metric {pk} ({metric['value']}) is not in its quote: {text!r}"


def test_every_record_quotes_its_source(fixture):
    quoted = {quote["initiative"] for quote in fixture["catalogue.quote"].values()}
    for pk, initiative in fixture["catalogue.initiative"].items():
        assert pk in quoted, f"{initiative['slug']} quotes nothing"


def test_no_record_states_a_year_its_sources_do_not(fixture, articles):
    # No seed article dates an initiative: a year in a seed record would be a guess.
    for initiative in fixture["catalogue.initiative"].values():
        assert initiative["start_year"] is None and initiative["end_year"] is None, initiative


def test_every_stage_is_stated_in_a_quote(fixture):
    # "implemented" is recorded only where a passage says the initiative was implemented
    # (or introduced); otherwise the stage is left blank, "not stated in the source".
    said = {"implemented": ("implement", "introduc")}
    quotes = fixture["catalogue.quote"].values()
    for pk, initiative in fixture["catalogue.initiative"].items():
        if not initiative["stage"]:
            continue
        text = " ".join(q["text"].lower() for q in quotes if q["initiative"] == pk)
        assert any(stem in text for stem in said[initiative["stage"]]), initiative["slug"]


def test_a_changed_quote_fails(fixture, articles):
    """The check above is not vacuous: one word changed and the passage is not found."""
    quote = next(iter(fixture["catalogue.quote"].values()))
    source = fixture["catalogue.source"][quote["source"]]
    invented = quote["text"].replace(" ", " not ", 1)
    assert words(invented) not in articles[source["copy_file"]]
