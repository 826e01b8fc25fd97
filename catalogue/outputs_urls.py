"""Researchers' outputs: exports of the filtered list, the Atom feed, sitemap and robots.txt."""

from django.urls import path

from catalogue import exports, feeds, sitemaps

urlpatterns = [
    path("initiatives/export.csv", exports.export_csv, name="initiative-export-csv"),
    path("initiatives/export.json", exports.export_json, name="initiative-export-json"),
    path("feeds/initiatives.atom", feeds.initiative_feed, name="initiative-feed"),
    path("sitemap.xml", sitemaps.sitemap_index, name="sitemap"),
    path("sitemap-<slug:section>.xml", sitemaps.sitemap_section, name="sitemap-section"),
    path("robots.txt", sitemaps.robots_txt, name="robots-txt"),
]
