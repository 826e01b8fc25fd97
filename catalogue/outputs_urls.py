"""Researchers' outputs: exports of the filtered list, the Atom feed, sitemap and robots.txt."""

urlpatterns = []
