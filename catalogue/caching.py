"""Caching keyed by the catalogue version, so nothing cached is ever stale.

CatalogueVersion.number changes (by PostgreSQL triggers) on every write to anything a list
page shows. A key built from it and the filter query names one state of the catalogue: a
write makes new keys, and the old entries are simply never read again.
"""

import hashlib

from django.db import connection

from catalogue.models import CatalogueVersion

TTL = 10 * 60


def query_key(filterset, kind, *extra):
    """A cache key for this filter query in the current catalogue, or None on SQLite."""
    if connection.vendor != "postgresql":
        return None  # the version is kept by PostgreSQL triggers only
    # Read once per request (the filterset lives as long as the request), so one page's
    # cached parts all describe the same state.
    if not hasattr(filterset, "catalogue_version"):
        filterset.catalogue_version = (
            CatalogueVersion.objects.filter(pk=1).values_list("number", flat=True).first()
        )
    version = filterset.catalogue_version
    if version is None:
        return None
    query = sorted(
        (name, sorted(values))
        for name, values in filterset.data.lists()
        if name in filterset.filters and name != "sort"
    )
    digest = hashlib.sha256(repr((query, extra)).encode()).hexdigest()
    return f"catalogue:{kind}:{version}:{digest}"
