from dataclasses import dataclass

import reversion
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse
from reversion.admin import VersionAdmin

from catalogue import workflow
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
    Status,
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


class SourceFormSet(BaseInlineFormSet):
    # Set by SourceInline.get_formset when the record will be public after this save.
    will_be_published = False

    def clean(self):
        super().clean()
        if not self.will_be_published:
            return
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError(workflow.PUBLICATION_NEEDS["sources"])


class SourceInline(admin.StackedInline):
    model = Source
    formset = SourceFormSet
    extra = 1
    fields = [("title", "url"), ("author", "publisher"), ("published_on", "accessed_on")]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        state = getattr(request, "workflow_state", None)
        formset.will_be_published = bool(state and state.target == Status.PUBLISHED)
        return formset


@dataclass(frozen=True)
class WorkflowState:
    """What one change-form request does to the record's status."""

    current: str  # the status before this save
    transition: workflow.Transition | None  # the button pressed, if any

    @property
    def target(self):
        return self.transition.target if self.transition else self.current


class InitiativeForm(forms.ModelForm):
    workflow_state = None
    user = None

    def clean(self):
        cleaned_data = super().clean()
        state = self.workflow_state
        if state is None:
            return cleaned_data
        if state.transition:
            reason = workflow.refusal(state.transition, state.current, self.user)
            if reason:
                raise ValidationError(reason)
        if state.target == Status.PUBLISHED:
            problems = workflow.missing_for_publication(
                summary=cleaned_data.get("summary"),
                lead_organisation=cleaned_data.get("lead_organisation"),
                drivers=cleaned_data.get("drivers"),
                themes=cleaned_data.get("themes"),
                outcomes=cleaned_data.get("outcomes"),
                sources=True,  # checked by the sources formset
            )
            for field, message in problems.items():
                if field not in self.errors:
                    self.add_error(field, message)
            if problems:
                verb = "published" if state.transition else "kept published"
                self.add_error(
                    None, f"This initiative cannot be {verb} yet: complete the fields marked."
                )
        return cleaned_data


@admin.register(Initiative)
class InitiativeAdmin(VersionAdmin):
    form = InitiativeForm
    history_latest_first = True
    list_display = ["title", "status", "lead_organisation", "sector", "stage", "updated_at"]
    list_select_related = ["lead_organisation", "sector"]
    list_filter = [
        "status",
        "stage",
        "sector",
        "themes",
        "drivers",
        "outcomes",
        "evidence_level",
        "collaboration_type",
        "funding",
    ]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["title", "summary", "slug", "lead_organisation__name", "=pstw_id"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["lead_organisation"]
    filter_horizontal = ["drivers", "themes", "outcomes", "barriers", "places"]
    date_hierarchy = "updated_at"
    readonly_fields = [
        "status",
        "published_at",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
    ]
    inlines = [PartnershipInline, MetricInline, SourceInline]
    actions = [
        "submit_for_review",
        "return_to_draft",
        "publish",
        "unpublish",
        "archive",
        "bring_back_as_draft",
    ]
    fieldsets = [
        (None, {"fields": ["status", "title", "slug", "summary"]}),
        ("Narrative (Markdown)", {"fields": ["challenge", "approach", "results", "lessons"]}),
        (
            "Classification",
            {
                "fields": [
                    "lead_organisation",
                    "sector",
                    ("stage", "innovation_type", "evidence_level"),
                    ("start_year", "end_year"),
                    "website",
                    "places",
                    "nuts_code",
                    "drivers",
                    "themes",
                    "outcomes",
                    "barriers",
                    ("collaboration_type", "funding"),
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
                    "pstw_id",
                ],
            },
        ),
    ]

    def view_on_site(self, obj):
        if obj.is_published:
            return obj.get_absolute_url()
        return reverse("initiative-preview", kwargs={"slug": obj.slug})

    # Permissions: only publishers change what the public can see.

    def has_publish_permission(self, request):
        return request.user.has_perm(workflow.PUBLISH_PERMISSION)

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is not None and obj.status in (Status.PUBLISHED, Status.ARCHIVED):
            # Editors may read published and archived records but not change them.
            return self.has_publish_permission(request)
        return True

    # The change form: status moves only through the workflow's buttons.

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        # Restoring a version keeps the status the record has now (see revision_view).
        current = getattr(request, "restore_status", None) or (obj.status if obj else Status.DRAFT)
        transition = None
        if request.method == "POST" and request.POST.get("_transition"):
            transition = workflow.TRANSITIONS.get(request.POST["_transition"])
            if transition is None:
                messages.error(request, "That is not a workflow step. Nothing was saved.")
                return HttpResponseRedirect(request.get_full_path())
        request.workflow_state = WorkflowState(current=current, transition=transition)
        extra_context = {
            **(extra_context or {}),
            # A new record can only be saved as a draft, submitted or published.
            "transitions": [
                t
                for t in workflow.available(current, request.user)
                if obj or t.name in ("submit", "publish")
            ],
            "current_status": Status(current),
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(
            form.__name__,
            (form,),
            {
                "workflow_state": getattr(request, "workflow_state", None),
                "user": request.user,
            },
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        obj.status = request.workflow_state.target
        super().save_model(request, obj, form, change)

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        transition = request.workflow_state.transition
        if transition:
            message.append({"workflow": transition.done})
        return message

    def _after_save(self, request, obj, response):
        transition = request.workflow_state.transition
        if transition and response.status_code == 302:
            messages.success(request, f"{transition.done}: “{obj}”.")
            # Stay on the record, so the editor sees its new status and next steps.
            return HttpResponseRedirect(reverse("admin:catalogue_initiative_change", args=[obj.pk]))
        return response

    def response_add(self, request, obj, post_url_continue=None):
        return self._after_save(request, obj, super().response_add(request, obj, post_url_continue))

    def response_change(self, request, obj):
        return self._after_save(request, obj, super().response_change(request, obj))

    # History: restoring never changes the status; a recovered record comes back a draft.

    def revision_view(self, request, object_id, version_id, extra_context=None):
        current = Initiative.objects.filter(pk=unquote(object_id)).values_list("status", flat=True)
        request.restore_status = current.first()
        return super().revision_view(request, object_id, version_id, extra_context)

    def recover_view(self, request, version_id, extra_context=None):
        request.restore_status = Status.DRAFT
        return super().recover_view(request, version_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        # Unlike VersionAdmin, no revision around the whole list: each workflow action
        # records one revision per initiative, so restoring one never reverts the others.
        context = {"has_change_permission": self.has_change_permission(request)}
        return admin.ModelAdmin.changelist_view(self, request, {**context, **(extra_context or {})})

    def delete_model(self, request, obj):
        self._snapshot_before_delete(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        self._snapshot_before_delete(request, queryset)
        super().delete_queryset(request, queryset)

    def _snapshot_before_delete(self, request, initiatives):
        # So every deleted initiative can be recovered, even one never edited here.
        for initiative in initiatives:
            with reversion.create_revision():
                reversion.add_to_revision(initiative)
                reversion.set_user(request.user)
                reversion.set_comment("Deleted")

    # Workflow actions on the list.

    def _run_transition(self, request, queryset, name):
        transition = workflow.TRANSITIONS[name]
        done, refused = [], []
        for initiative in queryset.select_related(None).order_by("pk"):
            try:
                workflow.apply(initiative, name, request.user)
            except workflow.TransitionError as error:
                refused.append(f"“{initiative}” ({' '.join(error.problems.values())})")
            else:
                done.append(initiative)
        if done:
            self.message_user(
                request, f"{transition.done}: {len(done)} initiative{'s' * (len(done) != 1)}."
            )
        if refused:
            self.message_user(
                request,
                f"Not changed by “{transition.label}”: " + "; ".join(refused),
                messages.ERROR,
            )

    @admin.action(description="Submit selected initiatives for review", permissions=["change"])
    def submit_for_review(self, request, queryset):
        self._run_transition(request, queryset, "submit")

    @admin.action(description="Return selected initiatives to draft", permissions=["change"])
    def return_to_draft(self, request, queryset):
        self._run_transition(request, queryset, "withdraw")

    @admin.action(description="Publish selected initiatives", permissions=["publish"])
    def publish(self, request, queryset):
        self._run_transition(request, queryset, "publish")

    @admin.action(description="Unpublish selected initiatives", permissions=["publish"])
    def unpublish(self, request, queryset):
        self._run_transition(request, queryset, "unpublish")

    @admin.action(description="Archive selected initiatives", permissions=["publish"])
    def archive(self, request, queryset):
        self._run_transition(request, queryset, "archive")

    @admin.action(
        description="Bring selected archived initiatives back as drafts", permissions=["publish"]
    )
    def bring_back_as_draft(self, request, queryset):
        self._run_transition(request, queryset, "unarchive")


class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "initiative_count"]
    ordering = ["name"]  # as OrganisationAdmin: the count annotation drops Meta.ordering
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
    # The count annotation groups rows, and grouped queries ignore Meta.ordering: without
    # this the autocomplete would page an unordered list.
    ordering = ["name"]
    list_filter = ["kind"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(led_count=Count("led_initiatives"))

    @admin.display(description="Initiatives led", ordering="led_count")
    def led_count(self, obj):
        return obj.led_count
