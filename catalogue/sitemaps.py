"""What search engines are told: the sitemap of every public page, and robots.txt.

`/sitemap.xml` is an index of one sitemap per section (`/sitemap-<section>.xml`, in pages of
PAGE_SIZE URLs, `?p=2` and on), so it holds at any catalogue size.
"""

from django.contrib.sitemaps import GenericSitemap, Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from catalogue import caching
from catalogue.models import Initiative, Organisation

# Fewer than the protocol's 50,000: at 100,000 initiatives a page of 50,000 took 4 s and
# 90 MB to build, one of 10,000 0.8 s and 18 MB; a crawler does not mind fetching more files.
PAGE_SIZE = 10_000


class PageSitemap(Sitemap):
    """The pages that are not records: home and the list."""

    def items(self):
        return ["home", "initiative-list"]

    def location(self, item):
        return reverse(item)


class InitiativeSitemap(GenericSitemap):
    limit = PAGE_SIZE


class OrganisationSitemap(Sitemap):
    limit = PAGE_SIZE

    def items(self):
        # Ordered by id so that pages of the sitemap never overlap or miss one.
        return Organisation.objects.public().only("slug").order_by("pk")


SITEMAPS = {
    "pages": PageSitemap,
    "initiatives": InitiativeSitemap(
        {
            "queryset": Initiative.objects.published().only("slug", "updated_at").order_by("pk"),
            "date_field": "updated_at",
        }
    ),
    "organisations": OrganisationSitemap,
}


@require_safe
@caching.public_output
def sitemap_index(request):
    """The index, kept under the catalogue version: it counts every public initiative and
    organisation and reads each section's newest date, which is linear in the catalogue."""

    def build():
        response = sitemap_views.index(request, SITEMAPS, sitemap_url_name="sitemap-section")
        response.render()
        return response.content, dict(response.headers)

    key = caching.key(request, "sitemap-index", request.get_host(), request.is_secure())
    content, headers = caching.cached(key, build)
    return HttpResponse(content, headers=headers)


@require_safe
@caching.public_output
def sitemap_section(request, section):
    return sitemap_views.sitemap(request, SITEMAPS, section=section)


# Crawlers that take the first matching rule (Python's robotparser among them) see the
# Disallow lines before "Allow: /"; the others take the longest match, with the same result.
ROBOTS = """\
User-agent: *
Disallow: /api/
Disallow: /initiatives/export.
Disallow: /initiatives/*/preview/
# Filter combinations and searches: endless variations of pages the sitemap already lists.
Disallow: /initiatives/?*&
Disallow: /initiatives/?q=
Allow: /

Sitemap: {sitemap}
"""


@require_safe
@cache_control(public=True, max_age=86400)
def robots_txt(request):
    """Crawl the public site; keep out of the API, exports and the combinatorial filter
    space, which would cost the database and add nothing to an index.

    The admin is not named: robots.txt is public, and DJANGO_ADMIN_URL may be set to keep
    the admin's address out of sight. Its pages need a login and say noindex anyway."""
    text = ROBOTS.format(sitemap=request.build_absolute_uri(reverse("sitemap")))
    return HttpResponse(text, content_type="text/plain; charset=utf-8")
