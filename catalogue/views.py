from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe
from django_filters.views import FilterView

from catalogue import caching, citations, facets, provenance, search
from catalogue.filters import InitiativeFilter, OrganisationSearchForm
from catalogue.models import Initiative, Metric, Organisation, Partnership, Quote, Theme


def ceiling(request):
    """Constant response for the benchmark (enabled by DJANGO_BENCHMARK=1)."""
    return HttpResponse("ok", content_type="text/plain")


@require_safe
def home(request):
    published = Initiative.objects.published()

    def counts():
        # Linear in the catalogue (1.5 s at 1,000,000 initiatives): cached under its version.
        themes = Theme.objects.annotate(
            published_count=Count("initiatives", filter=Q(initiatives__status="published"))
        ).filter(published_count__gt=0)
        claims = published.aggregate(
            total=Count("pk"),
            measured=Count(
                "pk", filter=Q(Exists(Metric.objects.filter(initiative=OuterRef("pk"))))
            ),
            quoted=Count("pk", filter=Q(Exists(Quote.objects.filter(initiative=OuterRef("pk"))))),
        )
        return list(themes), claims["total"], claims["measured"], claims["quoted"]

    themes, total, measured, quoted = caching.cached(caching.key(request, "home"), counts)
    return render(
        request,
        "catalogue/home.html",
        {
            "themes": themes,
            "latest": published.with_listing()[:6],
            "total": total,
            "measured": measured,
            "quoted": quoted,
        },
    )


def query_string(params, drop):
    """'?a=1&b=2' from a QueryDict without the `drop` keys; '' when nothing is left."""
    kept = params.copy()
    for name in drop:
        kept.pop(name, None)
    return f"?{kept.urlencode()}" if kept else ""


def filter_initiatives(request, queryset):
    """The list's filters, search and sort applied to `queryset` for this request's query.

    The one code path behind the HTML list, the exports and the feed, so they always select
    the same records in the same order. Returns the filterset (for its problems and labels)
    and the filtered, ordered queryset. `page` is not a filter: paginating is the caller's.
    """
    filterset = InitiativeFilter(request.GET or None, request=request, queryset=queryset)
    if filterset.is_bound and not filterset.is_valid():
        # FilterView's strictness; binding has already dropped every value it cannot use.
        return filterset, queryset.none()
    return filterset, filterset.qs


class InitiativeListView(FilterView):
    filterset_class = InitiativeFilter
    template_name = "catalogue/initiative_list.html"
    context_object_name = "initiatives"

    def get(self, request, *args, **kwargs):
        # FilterView.get, through the helper the exports and the feed share.
        self.filterset, self.object_list = filter_initiatives(request, self.get_queryset())
        context = self.get_context_data(filter=self.filterset, object_list=self.object_list)
        return self.render_to_response(context)

    def get_paginate_by(self, queryset):
        return settings.CATALOGUE_PAGE_SIZE

    def get_queryset(self):
        return Initiative.objects.published().with_listing()

    def paginate_queryset(self, queryset, page_size):
        """Never 404 on a bad page: show the nearest page and say why.

        The total comes from the facet-count statement, so the paginator never counts.
        """
        self.total, self.counts = facets.count(self.filterset)
        paginator = Paginator(queryset, page_size)
        paginator.count = self.total
        requested = self.request.GET.get("page") or 1
        try:
            page = paginator.page(requested)
        except InvalidPage:
            page = paginator.get_page(requested)
            if paginator.count:
                self.filterset.problems.append(
                    f"There is no page “{requested}”, so page {page.number} "
                    f"of {paginator.num_pages} is shown."
                )
        # The rendered results depend on the whole query string (pagination links keep it).
        self.results_key = caching.key(self.request, "results", sorted(self.request.GET.lists()))
        self.results_html = cache.get(self.results_key) if self.results_key else None
        # Nothing left to fetch when the rendered results are cached.
        page.object_list = self.page_rows(queryset, page) if self.results_html is None else []
        return paginator, page, page.object_list, page.has_other_pages()

    def filter_panel(self):
        """The rendered filter panel: about half of the page's rendering, and a function of
        the filters and the catalogue alone, so on PostgreSQL it is cached with the counts."""
        return caching.cached(
            caching.query_key(
                self.filterset,
                "panel",
                self.filterset.organisation_search,
                # The panel marks the fields in error: values already dropped from the data.
                sorted(self.filterset.field_problems.items()),
            ),
            lambda: render_to_string(
                "catalogue/initiative_list.html#filter-panel",
                {
                    "facets": facets.facets(self.filterset, self.counts, self.total),
                    "start_years": facets.start_years(self.counts),
                    "filter": self.filterset,
                    "query": self.filterset.query,
                    "active_filters": self.filterset.active_filters(),
                },
                request=self.request,
            ),
        )

    def page_rows(self, queryset, page):
        """The page's initiatives; when searching on PostgreSQL, with highlighted summaries.

        ts_headline is costly, so it runs on the page's rows only: the ranked ids first,
        then those rows."""
        query = self.filterset.query
        if not (query and search.uses_postgres()):
            return list(page.object_list)
        ids = list(page.object_list.values_list("pk", flat=True))
        rows = search.with_headline(queryset.order_by().filter(pk__in=ids), query)
        by_id = {row.pk: row for row in rows}
        return [by_id[pk] for pk in ids if pk in by_id]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = self.filterset
        page = context["page_obj"]
        if context["is_paginated"]:
            context["page_range"] = page.paginator.get_elided_page_range(
                page.number, on_each_side=1, on_ends=1
            )
        query = filterset.query
        if query:
            for initiative in page.object_list:
                initiative.summary_html = search.highlight(initiative, query)
        if self.results_html is None:
            self.results_html = render_to_string(
                "catalogue/initiative_list.html#results", context, request=self.request
            )
            if self.results_key:
                cache.set(self.results_key, self.results_html, caching.TTL)
        context.update(
            results=self.results_html,
            filter_panel=self.filter_panel(),
            active_filters=filterset.active_filters(),
            problems=filterset.problems,
            problem_links=filterset.problem_links(),
            sorts=filterset.sort_choices(),
            current_sort=filterset.current_sort,
            query=query,
            total=self.total,
            # The same records elsewhere: exports and the API keep the sort, not the page;
            # the feed and insights have their own order.
            export_query=query_string(self.request.GET, drop={"page"}),
            feed_query=query_string(self.request.GET, drop={"page", "sort"}),
        )
        return context


def detail_page(request, initiative, preview=False):
    """The parts of a case-study page: the body is the same for the public and a preview."""
    url = request.build_absolute_uri(initiative.get_absolute_url())
    context = {
        "initiative": initiative,
        "notes": provenance.footnotes(initiative),
        "imported_fields": provenance.imported_fields(initiative),
        "related": Initiative.objects.related_to(initiative),
        "citation": citations.plain_text(initiative, url),
        "preview": preview,
    }
    return {
        "title": initiative.title,
        "summary": initiative.summary,
        "url": url,
        "published_at": initiative.published_at,
        "updated_at": initiative.updated_at,
        "json_ld": citations.json_ld(initiative, request.build_absolute_uri),
        "body": render_to_string("catalogue/initiative_detail.html#body", context, request=request),
    }


@require_safe
def initiative_detail(request, slug):
    """One case study. On PostgreSQL the rendered page body is cached under the catalogue
    version (an edit anywhere, a rename, a new related initiative all make a new version);
    the page around it, with its per-request CSP nonce, is rendered every time."""

    def render_body():
        initiative = get_object_or_404(Initiative.objects.published().with_detail(), slug=slug)
        return detail_page(request, initiative)

    # Absolute URLs (canonical, citation, structured data) depend on the host asked for.
    key = caching.key(request, "detail", slug, request.scheme, request.get_host())
    page = caching.cached(key, render_body)
    return render(request, "catalogue/initiative_detail.html", page)


@staff_member_required
def initiative_preview(request, slug):
    """A record as the public would see it, whatever its status: for editors only."""
    if not request.user.has_perm("catalogue.view_initiative"):
        raise PermissionDenied
    initiative = get_object_or_404(Initiative.objects.with_detail(), slug=slug)
    page = detail_page(request, initiative, preview=True)
    page["preview_status"] = initiative.get_status_display()
    response = render(request, "catalogue/initiative_detail.html", page)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


ORGANISATIONS_PAGE_SIZE = 50


def nearest_page(request, queryset, page_size, problems, count=None):
    """The page asked for, or the nearest one with a note in `problems`: never a 404."""
    paginator = Paginator(queryset, page_size)
    if count is not None:
        paginator.count = count
    requested = request.GET.get("page") or 1
    try:
        page = paginator.page(requested)
    except InvalidPage:
        page = paginator.get_page(requested)
        if paginator.count:
            problems.append(
                f"There is no page “{requested}”, so page {page.number} "
                f"of {paginator.num_pages} is shown."
            )
    return page


def paging(page):
    """What includes/pagination.html needs."""
    return {
        "page_obj": page,
        "paginator": page.paginator,
        "is_paginated": page.has_other_pages(),
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
    }


@require_safe
def organisation_list(request):
    """Every public organisation, by name: search by name, filter by kind and country, with
    how many published case studies each led and took part in."""
    form = OrganisationSearchForm(request.GET)
    organisations, problems = form.organisations()
    page = nearest_page(request, organisations, ORGANISATIONS_PAGE_SIZE, problems)
    return render(
        request,
        "catalogue/organisation_list.html",
        {"form": form, "problems": problems, "organisations": page.object_list, **paging(page)},
    )


@require_safe
def organisation_detail(request, slug):
    """An organisation and, a page at a time, the published case studies it led or took
    part in (one organisation may lead thousands), with links to them in the list."""
    organisation = get_object_or_404(Organisation.objects.public(), slug=slug)
    initiatives = Initiative.objects.published().involving(organisation)
    partnered = Partnership.objects.filter(organisation=organisation).values("initiative")
    counts = initiatives.aggregate(
        total=Count("pk"),
        led=Count("pk", filter=Q(lead_organisation=organisation)),
        partnered=Count("pk", filter=Q(pk__in=partnered)),
    )
    problems = []
    rows = initiatives.with_listing().with_roles_of(organisation).order_by("title", "pk")
    page = nearest_page(request, rows, settings.CATALOGUE_PAGE_SIZE, problems, counts["total"])
    return render(
        request,
        "catalogue/organisation_detail.html",
        {
            "organisation": organisation,
            "initiatives": page.object_list,
            "led_count": counts["led"],
            "partnered_count": counts["partnered"],
            "total": counts["total"],
            "problems": problems,
            **paging(page),
        },
    )
