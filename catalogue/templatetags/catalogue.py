from django import template
from django.utils.safestring import mark_safe

from catalogue.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text):
    """Render editor Markdown; the output is sanitised by nh3, hence safe to mark."""
    return mark_safe(render_markdown(text))
