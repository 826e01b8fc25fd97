"""The vocabularies (drivers, themes, outcomes, barriers, sectors) and places."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from catalogue import workflow
from catalogue.admin.hostile import HostileQueryMixin
from catalogue.models import Barrier, Driver, Initiative, Outcome, Place, Sector, Theme

# The vocabularies a published record must have a term of, as the publishing rules say.
REQUIRED_FOR_PUBLICATION = {
    model: field
    for model, field in {Driver: "drivers", Theme: "themes", Outcome: "outcomes"}.items()
    if field in workflow.PUBLICATION_NEEDS
}
USERS_SHOWN = 50


class TaxonomyAdmin(HostileQueryMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "initiative_count"]
    ordering = ["name"]  # as OrganisationAdmin: the count annotation drops Meta.ordering
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    delete_confirmation_template = "admin/catalogue/term_delete_confirmation.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(initiative_count=Count("initiatives"))

    def stranded(self, terms):
        """Published records that deleting `terms` would leave without any term of this
        vocabulary, so breaking the publishing rules."""
        field = REQUIRED_FOR_PUBLICATION.get(self.model)
        if field is None:
            return Initiative.objects.none()
        ids = [term.pk for term in terms]
        others = self.model.objects.exclude(pk__in=ids)
        return (
            Initiative.objects.published()
            .filter(**{f"{field}__in": ids})
            .exclude(**{f"{field}__in": others})
            .distinct()
            .order_by("title")
        )

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        noun = self.model._meta.verbose_name
        for initiative in self.stranded(objs):
            url = reverse("admin:catalogue_initiative_change", args=[initiative.pk])
            protected.append(
                format_html(
                    '<a href="{}">{}</a> is published and would be left with no {}: '
                    "give it another first, or unpublish it",
                    url,
                    initiative.title,
                    noun,
                )
            )
        return deleted, counts, perms_needed, protected

    def delete_view(self, request, object_id, extra_context=None):
        term = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if term is not None:
            using = term.initiatives.order_by("title").only("title", "status")
            context["records_using"] = list(using[:USERS_SHOWN])
            context["records_using_count"] = using.count()
            context["records_using_more"] = context["records_using_count"] - len(
                context["records_using"]
            )
        return super().delete_view(request, object_id, context)

    @admin.display(description="Initiatives", ordering="initiative_count")
    def initiative_count(self, obj):
        return obj.initiative_count


for taxonomy in (Driver, Theme, Outcome, Barrier):
    admin.site.register(taxonomy, TaxonomyAdmin)


@admin.register(Sector)
class SectorAdmin(TaxonomyAdmin):
    list_display = ["name", "cofog_code", "slug", "initiative_count"]


@admin.register(Place)
class PlaceAdmin(HostileQueryMixin, admin.ModelAdmin):
    list_display = ["__str__", "country", "region"]
    list_filter = ["region"]
    search_fields = ["country", "region"]
