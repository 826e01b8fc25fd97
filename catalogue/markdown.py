"""Editors write narrative in Markdown; visitors only ever see sanitised HTML.

`markdown` passes raw HTML, event handlers and `javascript:` links straight through, so its
output is always cleaned with nh3 against a short allow-list before it reaches a page.
"""

import markdown as markdown_lib
import nh3

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h2", "h3", "h4", "a", "abbr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip

# Headings inside a page section start at h2/h3: the page owns the h1.
HEADING_SHIFT = {"<h1>": "<h2>", "</h1>": "</h2>"}


def render_markdown(text):
    """Markdown to safe HTML with GOV.UK classes on links, lists and headings."""
    if not text:
        return ""
    html = markdown_lib.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    for old, new in HEADING_SHIFT.items():
        html = html.replace(old, new)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes={"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={
            "a": {"class": "govuk-link"},
            "ul": {"class": "govuk-list govuk-list--bullet"},
            "ol": {"class": "govuk-list govuk-list--number"},
            "h2": {"class": "govuk-heading-m"},
            "h3": {"class": "govuk-heading-s"},
            "table": {"class": "govuk-table"},
        },
    )
