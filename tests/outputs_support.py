"""What the output tests (tests/test_exports_*.py, tests/test_feed_and_sitemaps.py) share:
the outputs' paths and XML namespaces, and the words and text their catalogues are made of."""

from django.db import connection

CSV = "/initiatives/export.csv"
JSON = "/initiatives/export.json"
FEED = "/feeds/initiatives.atom"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ON_POSTGRES = connection.vendor == "postgresql"


WORDS = ["housing", "data", "council", "bins", "health", "open data"]
COUNTRIES = ["GB", "EE", "FR", "DE", "EU"]


NASTY = 'Comma, "quotes", a line\nbreak, a CRLF\r\nand Zürich, Łódź, 東京, “curly” 🚲'
