from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.views.generic import DetailView
from django_countries import countries
from django_filters.views import FilterView

from catalogue.filters import SORTS, InitiativeFilter
from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Organisation,
    Outcome,
    Place,
    Sector,
    Theme,
)

FACETS = [
    ("theme", "Theme", Theme),
    ("driver", "Driver", Driver),
    ("outcome", "Outcome", Outcome),
    ("barrier", "Barrier", Barrier),
    ("sector", "Sector", Sector),
]


def ceiling(request):
    """Constant response for the benchmark (enabled by DJANGO_BENCHMARK=1)."""
    return HttpResponse("ok", content_type="text/plain")


def home(request):
    published = Initiative.objects.published()
    themes = Theme.objects.annotate(
        published_count=Count("initiatives", filter=Q(initiatives__status="published"))
    ).filter(published_count__gt=0)
    return render(
        request,
        "catalogue/home.html",
        {
            "themes": themes,
            "latest": published.with_listing()[:6],
            "total": published.count(),
        },
    )


class InitiativeListView(FilterView):
    filterset_class = InitiativeFilter
    template_name = "catalogue/initiative_list.html"
    paginate_by = settings.CATALOGUE_PAGE_SIZE
    context_object_name = "initiatives"

    def get_queryset(self):
        return Initiative.objects.published().with_listing()

    def paginate_queryset(self, queryset, page_size):
        """Never 404 on a bad page: show the nearest page and say why."""
        paginator = Paginator(queryset, page_size)
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
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = self.filterset
        if context["is_paginated"]:
            page = context["page_obj"]
            context["page_range"] = page.paginator.get_elided_page_range(
                page.number, on_each_side=1, on_ends=1
            )
        context.update(
            facets=[self._facet(name, label, options) for name, label, options in facet_options()],
            active_filters=filterset.active_filters(),
            problems=filterset.problems,
            sorts=[(key, label) for key, (label, _) in SORTS.items()],
            current_sort=filterset.current_sort,
            query=filterset.form.cleaned_data.get("q", "") if filterset.is_valid() else "",
        )
        return context

    def _facet(self, name, label, options):
        selected = set(self.filterset.data.getlist(name))
        return {
            "name": name,
            "label": label,
            "options": [(value, text, value in selected) for value, text in options],
        }


def facet_options():
    """(parameter, label, [(value, text)]) for each facet of the filter panel."""
    for name, label, model in FACETS:
        yield name, label, model.objects.values_list("slug", "name")
    yield "stage", "Stage", Initiative.Stage.choices
    codes = (
        Place.objects.filter(initiatives__status=Initiative.Status.PUBLISHED)
        .values_list("country", flat=True)
        .order_by()
        .distinct()
    )
    yield (
        "country",
        "Country",
        sorted(((code, countries.name(code)) for code in codes), key=lambda o: o[1]),
    )


class InitiativeDetailView(DetailView):
    template_name = "catalogue/initiative_detail.html"
    context_object_name = "initiative"

    def get_queryset(self):
        return Initiative.objects.published().with_detail()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        initiative = self.object
        context["related"] = (
            Initiative.objects.published()
            .filter(themes__in=[theme.pk for theme in initiative.themes.all()])
            .exclude(pk=initiative.pk)
            .annotate(shared=Count("themes"))
            .select_related("lead_organisation")
            .order_by("-shared", "-published_at")[:3]
        )
        return context


class OrganisationDetailView(DetailView):
    template_name = "catalogue/organisation_detail.html"
    context_object_name = "organisation"

    def get_queryset(self):
        # An organisation is public only through a published initiative.
        published = Initiative.objects.published()
        return Organisation.objects.filter(
            Q(pk__in=published.values("lead_organisation"))
            | Q(pk__in=published.values("partnerships__organisation"))
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        published = Initiative.objects.published().with_listing()
        context["led"] = published.filter(lead_organisation=self.object)
        context["partnerships"] = (
            self.object.partnerships.filter(initiative__status="published")
            .select_related("initiative")
            .order_by("initiative__title")
        )
        return context
