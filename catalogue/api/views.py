"""The read-only JSON API, /api/v1/: published initiatives, the organisations public through
them, and the five vocabularies.

Conventions (also in the schema's description, see settings.SPECTACULAR_SETTINGS):
- Only GET, HEAD and OPTIONS; anything else is 405.
- The initiative list takes the HTML list's query string unchanged (filters, `q`, `sort`,
  `page`) and gives the same results in the same order, CATALOGUE_PAGE_SIZE to a page.
- A value that cannot be used is 400, naming the parameter:
  {"detail": "...", "errors": {"year_from": ["Enter a whole number."]}}.
  A page past the last is 404 in the same shape; a malformed page number is 400.
- Unknown parameters are ignored, as on the HTML list.
- Always JSON, whatever Accept or ?format say: there is one representation.
"""

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.viewsets import ReadOnlyModelViewSet

from catalogue import caching, facet_index, facets, search
from catalogue.api import serializers as api
from catalogue.api.filters import CatalogueFilterBackend
from catalogue.filters import InitiativeFilter
from catalogue.logs import current_request_id
from catalogue.models import Initiative, Organisation, Partnership
from catalogue.vocabularies import VOCABULARIES

# Django's own slug converter: a lookup that could never match never reaches the database.
SLUG = "[-a-zA-Z0-9_]+"

SUMMARIES = {
    status.HTTP_400_BAD_REQUEST: "Some parameters could not be used: see errors.",
    status.HTTP_404_NOT_FOUND: "Not found.",
}


def exception_handler(exc, context):
    """DRF's handler, with every error as {"detail": ..., "errors": {parameter: [...]}}.

    `detail` is always there (one sentence); `errors` only when a parameter is to blame;
    `request_id` as in the X-Request-ID header. Any other exception propagates: Django's
    handlers answer it with the same shape (catalogue/errors.py), 503 when the database is
    unavailable and 500 otherwise.
    """
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict):
        if "detail" not in response.data:
            summary = getattr(exc, "summary", None) or SUMMARIES.get(
                response.status_code, "The request could not be answered."
            )
            response.data = {"detail": summary, "errors": response.data}
        response.data["request_id"] = current_request_id()
    return response


class JSONOnly(BaseContentNegotiation):
    """One representation, so Accept and ?format never make a 406 or 404."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def deep_page_message():
    last = settings.CATALOGUE_MAX_PAGE
    return (
        f"Only the first {last:,} pages of results are served. Narrow the filters, or "
        "download every result from the export (the same query string), which has them all."
    )


class PageNotFound(NotFound):
    summary = "There is no such page."


class CataloguePagination(PageNumberPagination):
    """The HTML list's pages: CATALOGUE_PAGE_SIZE each, chosen by `page`, counted from 1.

    Strict where the list forgives: a malformed number is 400 and a page past the last is
    404 (the list shows the nearest page instead). An empty result still has page 1.
    """

    last_page_strings = ()
    page_query_description = "Page number, from 1. A page past the last is 404."

    def get_page_size(self, request):
        # Read per request, so a changed setting (or a test's override) applies at once.
        return settings.CATALOGUE_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        number = self.page_number(request)
        paginator = Paginator(queryset, self.get_page_size(request))
        if (total := self.total(view)) is not None:
            paginator.count = total  # counted already: the paginator need not count again
        try:
            self.page = paginator.page(number)
        except EmptyPage:
            raise PageNotFound(
                {"page": [f"There is no page {number}; the last is {paginator.num_pages}."]}
            ) from None
        return self.rows(self.page, view)

    def rows(self, page, view):
        """The page's records, in order."""
        return list(page)

    def page_number(self, request):
        values = [v.strip() for v in request.query_params.getlist(self.page_query_param)]
        values = [v for v in values if v]  # blank means the first page, as on the list
        if not values:
            return 1
        if len(values) > 1:
            raise ValidationError(
                {"page": [f"Give this parameter once; it was given {len(values)} times."]}
            )
        if not values[0].isdecimal() or not values[0].isascii() or int(values[0]) < 1:
            raise ValidationError({"page": ["Enter a whole number, 1 or more."]})
        return int(values[0])

    def total(self, view):
        """The number of results when it is known without counting (None: count)."""
        return None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            parameter["allowEmptyValue"] = True  # blank is the first page, as on the list
        return parameters


class InitiativePagination(CataloguePagination):
    """Pages of initiatives, with how many of all the matching ones record each facet (as
    the list page and the JSON export say: "Driver: recorded for 23 of 2,304")."""

    def paginate_queryset(self, queryset, request, view=None):
        self.view = view
        return super().paginate_queryset(queryset, request, view)

    def page_number(self, request):
        number = super().page_number(request)
        if number > settings.CATALOGUE_MAX_PAGE:
            raise ValidationError({"page": [deep_page_message()]})
        return number

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["maximum"] = settings.CATALOGUE_MAX_PAGE
        return parameters

    def rows(self, page, view):
        # The facet index, when current, gives the page's ids in the sort's order (as the
        # HTML list's pages do), or the search ranks them (catalogue/search.py): the
        # database reads only those rows.
        filterset = getattr(view, "filterset", None)
        index = None if filterset is None else facet_index.current(filterset.request)
        if index is not None:
            size = page.paginator.per_page
            offset = (page.number - 1) * size
            ids = index.page(filterset, filterset.current_sort, offset, size)
            if ids is None:  # a search by relevance: ranked from the narrow copies
                ids = search.ranked_page(filterset, page)
            if ids is not None:
                return ids  # InitiativeViewSet.list() reads the rows it has not cached
        return super().rows(page, view)

    def total(self, view):
        # The facet counts' total (from the facet index when it is current): the coverage
        # needs them anyway, and a COUNT(*) of a large result is the slowest part of a page.
        filterset = getattr(view, "filterset", None)
        return None if filterset is None else facets.count(filterset)[0]

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        filterset = getattr(self.view, "filterset", None)
        if filterset is not None:
            total, counts = facets.count(filterset)
            response.data["coverage"] = facets.coverage(total, counts)
        return response

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["coverage"] = {
            "type": "object",
            "description": "For each facet, how many of the matching initiatives record it.",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "recorded": {"type": "integer"},
                    "of": {"type": "integer"},
                },
                "required": ["label", "recorded", "of"],
            },
        }
        return paginated


ERRORS = {400: api.ErrorSerializer, 404: api.ErrorSerializer}
NOT_FOUND = {404: api.ErrorSerializer}


class ReadOnlyViewSet(ReadOnlyModelViewSet):
    # GET, HEAD and OPTIONS only (the router maps nothing else: 405); records by slug.
    lookup_field = "slug"
    lookup_value_regex = SLUG
    content_negotiation_class = JSONOnly


@extend_schema_view(
    list=extend_schema(
        summary="Published initiatives, filtered, searched and sorted as the public list is",
        responses={200: api.InitiativeSummarySerializer, **ERRORS},
    ),
    retrieve=extend_schema(
        summary="One published initiative: everything its public page shows",
        responses={200: api.InitiativeDetailSerializer, **NOT_FOUND},
    ),
)
class InitiativeViewSet(ReadOnlyViewSet):
    """Published case studies. The list takes the public list's query string (filters,
    `q`, `sort`, `page`) and gives the same initiatives in the same order."""

    filter_backends = [CatalogueFilterBackend]
    filterset_class = InitiativeFilter
    pagination_class = InitiativePagination

    def get_queryset(self):
        published = Initiative.objects.published()
        if self.action == "retrieve":
            return published.with_detail()
        return published.with_listing()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return api.InitiativeDetailSerializer
        return api.InitiativeSummarySerializer

    def list(self, request, *args, **kwargs):
        # Each row is serialized once per catalogue version and site address, and cached
        # (the `summaries` cache, as the list's cards are): the newest initiatives head the
        # pages of many filter combinations, and DRF's serializers cost about 2 ms a row.
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)  # ids, or rows when read by the query
        fetched = {row.pk: row for row in page if not isinstance(row, int)}
        ids = [row if isinstance(row, int) else row.pk for row in page]
        site = request.build_absolute_uri("/")

        def serialize(missing):
            rows = [fetched[pk] for pk in missing if pk in fetched]
            unread = [pk for pk in missing if pk not in fetched]
            if unread:  # the ids came from the facet index or the search's ranking
                rows += search.in_order(self.get_queryset(), unread)
            data = self.get_serializer(rows, many=True).data
            return {row.pk: item for row, item in zip(rows, data, strict=True)}

        found = caching.cached_each(
            {pk: caching.key(request, "api-initiative", site, pk) for pk in ids},
            serialize,
            alias="summaries",
        )
        return self.get_paginated_response([found[pk] for pk in ids if pk in found])

    def filter_queryset(self, queryset):
        # DRF filters detail lookups too; a filter has nothing to say about one record.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)


@extend_schema_view(
    list=extend_schema(
        summary="Organisations that lead or partner in a published initiative",
        responses={200: api.OrganisationSerializer, **ERRORS},
    ),
    retrieve=extend_schema(
        summary="One organisation, with the published initiatives it led or took part in",
        responses={200: api.OrganisationDetailSerializer, **NOT_FOUND},
    ),
)
class OrganisationViewSet(ReadOnlyViewSet):
    """Organisations that lead or take part in a published initiative, by name."""

    pagination_class = CataloguePagination

    def get_queryset(self):
        return Organisation.objects.public().order_by("name", "pk")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return api.OrganisationDetailSerializer
        return api.OrganisationSerializer

    def get_object(self):
        """The organisation, with what its public page lists (one query each)."""
        organisation = super().get_object()
        # References only: no need to read the initiatives' long narrative columns.
        organisation.led = list(
            Initiative.objects.published()
            .filter(lead_organisation=organisation)
            .only("slug", "title")
            .order_by("-published_at", "title", "pk")
        )
        organisation.published_partnerships = list(
            Partnership.objects.filter(organisation=organisation, initiative__status="published")
            .select_related("initiative")
            .only("role", "description", "initiative__slug", "initiative__title")
            .order_by("initiative__title", "role", "pk")
        )
        return organisation


def taxonomy_viewset(param, model):
    """List and detail of one vocabulary, each term with its published-initiative count
    (counted in the same query). The vocabularies are short, so the list is one page."""
    plural = model._meta.verbose_name_plural

    @extend_schema_view(
        list=extend_schema(summary=f"All {plural}, with published-initiative counts"),
        retrieve=extend_schema(
            summary=f"One of the {plural}",
            responses={200: api.TERM_SERIALIZERS[model], **NOT_FOUND},
        ),
    )
    class TaxonomyViewSet(ReadOnlyViewSet):
        serializer_class = api.TERM_SERIALIZERS[model]
        pagination_class = None

        def get_queryset(self):
            published = Q(initiatives__status=Initiative.Status.PUBLISHED)
            return model.objects.annotate(
                initiative_count=Count("initiatives", filter=published)
            ).order_by("name", "pk")

    TaxonomyViewSet.__name__ = TaxonomyViewSet.__qualname__ = f"{model.__name__}ViewSet"
    TaxonomyViewSet.__doc__ = model.__doc__
    return TaxonomyViewSet


TAXONOMY_VIEWSETS = {v.param: taxonomy_viewset(v.param, v.model) for v in VOCABULARIES}


class ApiRoot(APIView):
    """Where everything is."""

    content_negotiation_class = JSONOnly

    @extend_schema(exclude=True)
    def get(self, request):
        names = ["initiative-list", "organisation-list"]
        names += [f"{param}-list" for param in TAXONOMY_VIEWSETS]
        links = {name.removesuffix("-list") + "s": name for name in names}
        links |= {"schema": "schema", "docs": "docs"}
        return Response(
            {key: reverse(f"api:{name}", request=request) for key, name in links.items()}
        )


class UnknownPath(APIView):
    """A JSON 404 for any other path under /api/v1/, not the HTML page."""

    content_negotiation_class = JSONOnly

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        raise NotFound()

    head = options = post = put = patch = delete = get


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files (drf-spectacular-sidecar), its start-up script
    served as a separate file, so the page runs under the strict CSP with nothing inline."""

    template_name = "api/docs.html"
