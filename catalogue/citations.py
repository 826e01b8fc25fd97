"""How to cite a case study, and how machines read it.

A citation names this catalogue as the (corporate) author and publisher, since the catalogue
wrote the case study, and the lead organisation as its subject, with the case study's title,
the permalink and the version (the date it was last updated), in plain text, BibTeX and RIS.
The same facts go into schema.org JSON-LD for search engines.
"""

import json
import re

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from catalogue.models import Initiative
from catalogue.templatetags.catalogue import web_link


def dates(initiative, accessed=None):
    """(year, version date, date accessed) as every citation format gives them."""
    accessed = accessed or timezone.localdate()
    year = initiative.published_at.year if initiative.published_at else accessed.year
    return year, timezone.localtime(initiative.updated_at).date(), accessed


def subject(initiative):
    """Who the case study is about: its lead organisation, as the catalogue shows it."""
    return str(initiative.lead_organisation)


def plain_text(initiative, url, accessed=None):
    """'Catalogue (2026) Title. Case study of Hackney Council. Version of 9 July 2025.
    Available at: URL (accessed …).'"""
    year, version, accessed = dates(initiative, accessed)
    return (
        f"{settings.CATALOGUE_NAME} ({year}) {initiative.title}. "
        f"Case study of {subject(initiative)}. Version of {version:%-d %B %Y}. "
        f"Available at: {url} (accessed {accessed:%-d %B %Y})."
    )


# In BibTeX these characters are commands or groups; each is written so it prints as itself.
BIBTEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def bibtex_text(value):
    value = " ".join(str(value).split())
    return "".join(BIBTEX_ESCAPES.get(char, char) for char in value)


def bibtex(initiative, url, accessed=None):
    year, version, accessed = dates(initiative, accessed)
    key = re.sub(r"[^a-z0-9]+", "", initiative.slug.lower())[:40] + str(year)
    fields = [
        # Double braces: a corporate author is one name, not a first and last name.
        ("author", "{" + bibtex_text(settings.CATALOGUE_NAME) + "}"),
        ("title", bibtex_text(initiative.title)),
        ("howpublished", bibtex_text(settings.CATALOGUE_NAME)),
        ("keywords", bibtex_text(subject(initiative))),
        ("year", str(year)),
        ("url", url),  # URLs are verbatim in biblatex and the url package
        ("urldate", accessed.isoformat()),
        ("note", bibtex_text(f"Case study of {subject(initiative)}. Version of {version}")),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def ris_text(value):
    # One tag per line: a value may not break the line.
    return " ".join(str(value).split())


def ris(initiative, url, accessed=None):
    year, version, accessed = dates(initiative, accessed)
    lines = [
        ("TY", "ELEC"),
        ("AU", ris_text(settings.CATALOGUE_NAME)),
        ("TI", ris_text(initiative.title)),
        ("PB", ris_text(settings.CATALOGUE_NAME)),
        ("PY", str(year)),
        ("DA", f"{version:%Y/%m/%d}"),
        ("UR", url),
        ("Y2", f"{accessed:%Y/%m/%d}"),
        ("AB", ris_text(initiative.summary)),
        ("KW", ris_text(subject(initiative))),
        *(("KW", ris_text(theme.name)) for theme in initiative.themes.all()),
        ("N1", ris_text(f"Case study of {subject(initiative)}. Version of {version}")),
        ("ER", ""),
    ]
    return "".join(f"{tag}  - {value}".rstrip() + "\r\n" for tag, value in lines)


FORMATS = {
    "bib": (bibtex, "application/x-bibtex; charset=utf-8"),
    "ris": (ris, "application/x-research-info-systems; charset=utf-8"),
}


@require_safe
def initiative_citation(request, slug, format):
    """A published case study's citation as a file a reference manager imports."""
    initiative = get_object_or_404(
        Initiative.objects.published().select_related("lead_organisation"), slug=slug
    )
    write, content_type = FORMATS[format]
    url = request.build_absolute_uri(initiative.get_absolute_url())
    response = HttpResponse(write(initiative, url), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{initiative.slug}.{format}"'
    return response


# Structured data. The JSON is escaped as Django's json_script escapes it, so no text in a
# record can close the script element or open markup inside it.
JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def json_ld(initiative, absolute):
    """schema.org Article describing the case study, as safe script content.

    `absolute` turns a path into an absolute URL (request.build_absolute_uri)."""
    lead = initiative.lead_organisation
    url = absolute(initiative.get_absolute_url())
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "@id": url,
        "url": url,
        "headline": initiative.title[:110],
        "name": initiative.title,
        "description": initiative.summary,
        "datePublished": initiative.published_at,
        "dateModified": initiative.updated_at,
        "author": {"@type": "Organization", "name": settings.CATALOGUE_NAME},
        "publisher": {"@type": "Organization", "name": settings.CATALOGUE_NAME},
        "about": [
            {"@type": "Organization", "name": str(lead), "url": absolute(lead.get_absolute_url())},
            *(theme.name for theme in initiative.themes.all()),
        ],
        "keywords": [term.name for term in (*initiative.drivers.all(), *initiative.outcomes.all())],
        "spatialCoverage": [str(place) for place in initiative.places.all()],
        "contributor": [
            {"@type": "Organization", "name": str(p.organisation)}
            for p in initiative.partnerships.all()
        ],
        "citation": [web_link(source.url) or source.title for source in initiative.sources.all()],
    }
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return mark_safe(text.translate(JSON_SCRIPT_ESCAPES))
