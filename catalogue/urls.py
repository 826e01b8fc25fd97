from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from catalogue import citations, errors, exports, feeds, insights, sitemaps, views

# GOV.UK pages, or JSON under /api/ (catalogue/errors.py).
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error

urlpatterns = [
    path("", views.home, name="home"),
    path("initiatives/", views.initiative_list, name="initiative-list"),
    path(
        "initiatives/<slug:slug>/",
        views.initiative_detail,
        name="initiative-detail",
    ),
    path(
        "initiatives/<slug:slug>/preview/",
        views.initiative_preview,
        name="initiative-preview",
    ),
    *(
        path(
            f"initiatives/<slug:slug>/cite.{format}",
            citations.initiative_citation,
            {"format": format},
            name=f"initiative-citation-{format}",
        )
        for format in citations.FORMATS
    ),
    *(
        path(url, require_safe(TemplateView.as_view(template_name=template)), name=name)
        for url, template, name in [
            ("accessibility/", "catalogue/accessibility.html", "accessibility"),
            ("privacy/", "catalogue/privacy.html", "privacy"),
            ("data-licence/", "catalogue/data_licence.html", "data-licence"),
        ]
    ),
    path("organisations/", views.organisation_list, name="organisation-list"),
    path("organisations/<slug:slug>/", views.organisation_detail, name="organisation-detail"),
    # Researchers' outputs: the filtered list as files and a feed, and its shape.
    path("initiatives/export.csv", exports.export_csv, name="initiative-export-csv"),
    path("initiatives/export.json", exports.export_json, name="initiative-export-json"),
    path("feeds/initiatives.atom", feeds.initiative_feed, name="initiative-feed"),
    path("insights/", insights.insights, name="insights"),
    path("insights/<slug:table>.csv", insights.insights_csv, name="insights-csv"),
    # For search engines.
    path("sitemap.xml", sitemaps.sitemap_index, name="sitemap"),
    path("sitemap-<slug:section>.xml", sitemaps.sitemap_section, name="sitemap-section"),
    path("robots.txt", sitemaps.robots_txt, name="robots-txt"),
    path("api/v1/", include("catalogue.api.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
]

if settings.CATALOGUE_BENCHMARK:
    # The benchmark's ceiling: the cheapest response this stack can give, same process.
    urlpatterns.append(path("bench/ceiling/", views.ceiling, name="bench-ceiling"))
