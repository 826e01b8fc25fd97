from django.contrib import admin
from django.db.models import Count

from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Metric,
    Organisation,
    Outcome,
    Partnership,
    Place,
    Sector,
    Source,
    Theme,
)

admin.site.site_header = "Case-study catalogue: editors"
admin.site.site_title = "Catalogue admin"
admin.site.index_title = "Catalogue"


class PartnershipInline(admin.TabularInline):
    model = Partnership
    extra = 1
    autocomplete_fields = ["organisation"]


class MetricInline(admin.TabularInline):
    model = Metric
    extra = 1
    fields = ["label", "value", "unit", "direction", "baseline", "period", "source"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A metric cites one of its own initiative's sources.
        if db_field.name == "source":
            object_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Source.objects.filter(initiative_id=object_id or None)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SourceInline(admin.StackedInline):
    model = Source
    extra = 1
    fields = [("title", "url"), ("author", "publisher"), ("published_on", "accessed_on")]


@admin.register(Initiative)
class InitiativeAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "lead_organisation", "sector", "stage", "updated_at"]
    list_select_related = ["lead_organisation", "sector"]
    list_filter = ["status", "stage", "sector", "themes", "drivers", "outcomes", "evidence_level"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["title", "summary", "slug", "lead_organisation__name"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["lead_organisation"]
    filter_horizontal = ["drivers", "themes", "outcomes", "barriers", "places"]
    date_hierarchy = "updated_at"
    readonly_fields = ["published_at", "created_at", "updated_at", "created_by", "updated_by"]
    inlines = [PartnershipInline, MetricInline, SourceInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "status"]}),
        ("Narrative (Markdown)", {"fields": ["challenge", "approach", "results", "lessons"]}),
        (
            "Classification",
            {
                "fields": [
                    "lead_organisation",
                    "sector",
                    ("stage", "innovation_type", "evidence_level"),
                    ("start_year", "end_year"),
                    "places",
                    "drivers",
                    "themes",
                    "outcomes",
                    "barriers",
                ]
            },
        ),
        (
            "Record",
            {
                "classes": ["collapse"],
                "fields": [
                    ("published_at", "created_at", "updated_at"),
                    ("created_by", "updated_by"),
                ],
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "initiative_count"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(initiative_count=Count("initiatives"))

    @admin.display(description="Initiatives", ordering="initiative_count")
    def initiative_count(self, obj):
        return obj.initiative_count


for taxonomy in (Driver, Theme, Outcome, Barrier):
    admin.site.register(taxonomy, TaxonomyAdmin)


@admin.register(Sector)
class SectorAdmin(TaxonomyAdmin):
    list_display = ["name", "cofog_code", "slug", "initiative_count"]


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "country", "region"]
    list_filter = ["region"]
    search_fields = ["country", "region"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "country", "led_count"]
    list_filter = ["kind"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(led_count=Count("led_initiatives"))

    @admin.display(description="Initiatives led", ordering="led_count")
    def led_count(self, obj):
        return obj.led_count
