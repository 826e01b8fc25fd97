"""Emptying every cache, for tests that roll the catalogue version back."""

from django.core.cache import caches

from catalogue import facets, vocabularies


def clear_caches():
    """Empty every cache (the default one and the list's results'): an entry kept under a
    catalogue version must not outlive a test that rolled that version back."""
    for each in caches.all():
        each.clear()
    vocabularies.forget_last_read()
    facets.forget_organisation_names()
