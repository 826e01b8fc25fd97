"""No query string gives an admin page a 500: its lists and searches refuse what the
database cannot take."""

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList


def has_nul(query):
    return any("\x00" in name or any("\x00" in v for v in values) for name, values in query.lists())


class SafeChangeList(ChangeList):
    """The admin's list, refusing as "wacky lookup parameters" (Django's redirect to the
    plain list with ?e=1) what would otherwise reach the database and fail there: a NUL,
    which PostgreSQL text cannot hold, in any filter, and date-hierarchy numbers too big for
    a date."""

    def __init__(self, request, *args, **kwargs):
        if has_nul(request.GET):
            raise IncorrectLookupParameters("A NUL character in the query string.")
        super().__init__(request, *args, **kwargs)

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except OverflowError as error:
            raise IncorrectLookupParameters(error) from error


MAX_ADMIN_SEARCH = 1000


class HostileQueryMixin:
    """For every ModelAdmin: no query string gives a 500 (the public pages' rule)."""

    def get_changelist(self, request, **kwargs):
        return SafeChangeList

    def get_search_results(self, request, queryset, search_term):
        # Nothing stored contains a NUL (PostgreSQL refuses it; the forms' validators too),
        # so a search for one, in the list or the autocomplete, matches nothing.
        if "\x00" in search_term:
            return queryset.none(), False
        if len(search_term) > MAX_ADMIN_SEARCH:
            # SQLite refuses LIKE patterns past 50,000 bytes; nobody types this much.
            messages.warning(
                request, f"Searches are limited to {MAX_ADMIN_SEARCH:,} characters: shorten it."
            )
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)
