import hashlib
from urllib.parse import urlsplit

from django import template
from django.core.cache import cache
from django.utils.safestring import mark_safe

from catalogue.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text):
    """Render editor Markdown; the output is sanitised by nh3, hence safe to mark.

    Rendering costs about a millisecond per field, so the HTML is cached, keyed by the
    text itself: an edit makes a new key, and a cached entry is never stale.
    """
    if not text:
        return ""
    key = "catalogue:markdown:" + hashlib.sha256(text.encode()).hexdigest()
    html = cache.get(key)
    if html is None:
        html = render_markdown(text)
        cache.set(key, html, 24 * 60 * 60)
    return mark_safe(html)


@register.filter
def web_link(url):
    """The URL if it is an http(s) link, else "": stored data never yields a script link."""
    if not url:
        return ""
    return url if urlsplit(str(url).strip()).scheme.lower() in {"http", "https"} else ""


@register.filter
def or_nothing(query):
    """A {% querystring %} result, or "" when it has nothing in it (it gives "?" then), so
    an unfiltered link is the plain path."""
    return "" if query == "?" else query
