"""Organisations: a public one's changes are proposals, as a published initiative's are."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Count

from catalogue import workflow
from catalogue.admin.hostile import HostileQueryMixin
from catalogue.admin.proposing import ProposingAdmin
from catalogue.models import Organisation


class OrganisationForm(forms.ModelForm):
    history_comment = forms.CharField(
        label="Why these changes",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: kept with a proposal for the Publisher who reviews it.",
    )

    class Meta:
        model = Organisation
        fields = ["name", "slug", "kind", "country", "website", "unnamed"]


@admin.register(Organisation)
class OrganisationAdmin(ProposingAdmin, HostileQueryMixin, admin.ModelAdmin):
    """An organisation a published initiative names is public: every page, output and
    search shows its name at once. So, as for a published initiative, an Editor's changes to
    it are a proposal a Publisher publishes, and only a Publisher may delete it; one named
    only by records the public cannot see is the Editors' to change."""

    form = OrganisationForm
    change_form_template = "admin/catalogue/organisation/change_form.html"
    list_display = ["name", "unnamed", "kind", "country", "led_count"]
    # The count annotation groups rows, and grouped queries ignore Meta.ordering: without
    # this the autocomplete would page an unordered list.
    ordering = ["name"]
    list_filter = ["kind", "unnamed"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(led_count=Count("led_initiatives"))

    def is_public(self, request, obj):
        # Asked several times per page: once per request and organisation.
        known = getattr(request, "public_organisations", None)
        if known is None:
            known = request.public_organisations = {}
        if obj.pk not in known:
            known[obj.pk] = workflow.is_public(obj)
        return known[obj.pk]

    def proposal_made(self, request, obj, proposal):
        # An organisation's history is the admin's log (ProposalAdmin logs the publishing).
        self.log_change(request, obj, f"Proposed changes (proposal {proposal.pk})")

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or getattr(request, "proposing", False):
            return True  # a proposing form is saved as a proposal, never onto the row
        return self.has_publish_permission(request) or not self.is_public(request, obj)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None:
            return True  # the list's action: a public organisation is protected there
        return self.has_publish_permission(request) or not self.is_public(request, obj)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None or not self.is_public(request, obj):
            fields = [f for f in fields if f != "history_comment"]  # nothing is proposed
        return fields

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        public = obj is not None and self.is_public(request, obj)
        extra_context = {
            **(extra_context or {}),
            "may_propose": public,
            "proposal_only": public and not self.has_publish_permission(request),
            "open_proposals": list(obj.proposals.filter(state="open").select_related("created_by"))
            if obj is not None
            else [],
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="Initiatives led", ordering="led_count")
    def led_count(self, obj):
        return obj.led_count
