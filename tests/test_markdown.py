import pytest

from catalogue.markdown import render_markdown
from tests.hostile import PAYLOADS


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payloads_never_survive(payload):
    html = render_markdown(f"Before {payload} after").lower()
    for dangerous in ("<script", "onerror", "onload", "javascript:", "<iframe", "<style", "data:"):
        assert dangerous not in html
    assert "style=" not in html


def test_markdown_renders_with_govuk_classes():
    html = render_markdown("# Title\n\nSee [the report](https://example.org).\n\n- one\n- two")
    assert '<h2 class="govuk-heading-m">Title</h2>' in html
    assert 'href="https://example.org"' in html
    assert 'class="govuk-link"' in html
    assert '<ul class="govuk-list govuk-list--bullet">' in html


def test_empty_text_renders_nothing():
    assert render_markdown("") == ""
