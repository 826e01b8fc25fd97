from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from catalogue import caching, cards, citations, facet_index, facets, provenance, search
from catalogue.filters import InitiativeFilter
from catalogue.models import Initiative, Metric, Organisation, Partnership, Quote, Theme
from catalogue.organisation_search import OrganisationSearchForm


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
            "latest": latest_cards(published, 6),
            "total": total,
            "measured": measured,
            "quoted": quoted,
        },
    )


def latest_cards(published, n):
    """The cards of the n newest published initiatives, as the home page shows them."""
    return [mark_safe(card.html(level=3)) for _, card in cards.of(published[:n])]


@require_safe
def initiative_list(request):
    """The list: the query, its counts, the page asked for, and the page rendered.

    1. The filters bound to the query string (InitiativeFilter: what was applied, what was
       ignored and why).
    2. The total and every facet's counts (facets.count: from the process's facet index,
       or one SQL statement; cached on PostgreSQL under the catalogue version); the
       paginator never counts.
    3. The page asked for, or the nearest one with a note: never a 404.
    4. The results and the filter panel, each rendered once and, on PostgreSQL, cached under
       the catalogue version: the results by the whole query string (their links keep
       it), the panel by the filters in use.
    5. The page around them, with the problems, chips and sort, rendered every time.
    """
    filterset = InitiativeFilter.for_request(request, Initiative.objects.published())
    total, counts = facets.count(filterset)
    page = nearest_page(
        request,
        filterset.results,
        settings.CATALOGUE_PAGE_SIZE,
        filterset.problems,
        total,
        last=settings.CATALOGUE_MAX_PAGE,
    )
    results = caching.cached(
        caching.key(request, "results", sorted(request.GET.lists())),
        lambda: render_results(request, filterset, page),
    )
    panel = caching.cached(
        caching.query_key(
            filterset,
            "panel",
            filterset.organisation_search,
            # The panel marks the fields in error: values already dropped from the data.
            sorted(filterset.field_problems.items()),
        ),
        lambda: render_to_string(
            "catalogue/initiative_list.html#filter-panel",
            {
                "facets": facets.facets(filterset, counts, total),
                "start_years": (years := facets.start_years(counts)),
                "start_year_items": facets.start_year_items(years),
                "filter": filterset,
                "query": filterset.query,
                "active_filters": filterset.active_filters(),
            },
            request=request,
        ),
    )
    return render(
        request,
        "catalogue/initiative_list.html",
        {
            "results": results,
            "filter_panel": panel,
            "filter": filterset,
            "active_filters": filterset.active_filters(),
            "problems": filterset.problems,
            "problem_links": filterset.problem_links(),
            "sorts": filterset.sort_choices(),
            "current_sort": filterset.current_sort,
            "query": filterset.query,
            "total": total,
            "page_obj": page,
        },
    )


def render_results(request, filterset, page):
    """The page of results (summaries highlighted when searching) and the pagination.

    Each result's card (catalogue/cards.py) is made once per catalogue version and cached on
    PostgreSQL (the newest initiatives head the first pages of many filter combinations);
    when searching, so is each highlighted summary, by search text."""
    query = filterset.query
    ids = page_ids(filterset, page)
    found = caching.cached_each(
        {pk: caching.key(request, "card", pk) for pk in ids},
        cards.fetch,
        alias="summaries",
    )
    marked = {}
    if query:
        marked = caching.cached_each(
            {pk: caching.key(request, "marked", pk, query) for pk in found},
            lambda missing: search.highlights({pk: found[pk].text for pk in missing}, query),
            alias="summaries",
        )
    return render_to_string(
        "catalogue/initiative_list.html#results",
        {
            "summaries": [
                mark_safe(found[pk].html(summary=marked.get(pk))) for pk in ids if pk in found
            ],
            **paging(page),
        },
        request=request,
    )


def page_ids(filterset, page):
    """The ids of the page's initiatives, in order: when the facet index is current, from it
    (it orders them as the database does) or, for a search by relevance, from the search's
    narrow copies (catalogue/search.py); else from the filtered, sorted query."""
    index = facet_index.current(filterset.request)
    size = page.paginator.per_page
    if index is not None:
        ids = index.page(filterset, filterset.current_sort, (page.number - 1) * size, size)
        if ids is None:  # a search by relevance: ranked from the narrow copies
            ids = search.ranked_page(filterset, page)
        if ids is not None:
            return ids
    return list(page.object_list.values_list("pk", flat=True))


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


def nearest_page(request, queryset, page_size, problems, count=None, last=None):
    """The page asked for, or the nearest one with a note in `problems`: never a 404. With
    `last`, no later page than that is served (the note says why)."""
    paginator = Paginator(queryset, page_size)
    if count is not None:
        paginator.count = count
    requested = request.GET.get("page") or 1
    deep = last is not None and str(requested).isdecimal() and int(requested) > last
    if deep and paginator.num_pages > last:
        problems.append(
            f"Page {int(requested):,} is not shown: only the first {last:,} pages of "
            "results are. Narrow the filters, or download every result (below)."
        )
        return paginator.page(last)
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
