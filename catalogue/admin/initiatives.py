"""The initiative's change form and list: the workflow's buttons and actions, and the
citations saved in order."""

from dataclasses import dataclass

import reversion
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from reversion.admin import VersionAdmin

from catalogue import workflow
from catalogue.admin.citing import CITED_ATTNAMES, MetricInline, QuoteInline, SourceInline
from catalogue.admin.hostile import HostileQueryMixin
from catalogue.admin.initiative_history import InitiativeHistoryMixin
from catalogue.admin.proposing import ProposingAdmin
from catalogue.models import Initiative, Metric, Partnership, Quote, Source, Status


class PartnershipInline(admin.TabularInline):
    model = Partnership
    extra = 1
    autocomplete_fields = ["organisation"]


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

    history_comment = forms.CharField(
        label="Comment for the history",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: why you made this change or step. History shows it with your name.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stage = self.fields.get("stage")
        if stage is not None:
            # No stage is assumed: blank says the sources do not state one.
            stage.choices = [("", "Not stated in the source"), *Initiative.Stage.choices]

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
class InitiativeAdmin(InitiativeHistoryMixin, ProposingAdmin, HostileQueryMixin, VersionAdmin):
    form = InitiativeForm
    history_latest_first = True
    object_history_template = "admin/catalogue/initiative/object_history.html"
    change_list_template = "admin/catalogue/initiative/change_list.html"
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
    # Each after what it cites, new rows included, saved first: a quote is from a source, a
    # metric cites a source and a quote.
    inlines = [PartnershipInline, SourceInline, QuoteInline, MetricInline]
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
        ("History", {"fields": ["history_comment"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            return [f for f in fieldsets if f[0] != "History"]  # nothing to comment on
        return fieldsets

    def view_on_site(self, obj):
        if obj.is_published:
            return obj.get_absolute_url()
        return reverse("initiative-preview", kwargs={"slug": obj.slug})

    # Permissions: only publishers change what the public can see.

    @staticmethod
    def status_now(request, obj):
        """The record's status in the database now. A History preview has already reverted
        the row inside its transaction, so obj.status may be the old version's: never use
        that to decide who may change the record."""
        now = getattr(request, "status_now", None)
        return now if now is not None else obj.status

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        status = self.status_now(request, obj)
        if status == Status.PUBLISHED and getattr(request, "proposing", False):
            return True  # the form is saved as a proposal, never onto the live record
        if status in (Status.PUBLISHED, Status.ARCHIVED):
            # Editors may read published and archived records but not change them.
            return self.has_publish_permission(request)
        return True

    # The change form: status moves only through the workflow's buttons; an Editor's
    # changes to a published record, or a Publisher's when asked, become a proposal
    # (ProposingAdmin).

    def is_public(self, request, obj):
        return obj.status == Status.PUBLISHED

    def proposal_refusal(self, request):
        if request.POST.get("_transition"):
            return "Proposed changes cannot change the status. Nothing was saved."
        return None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        current = self.status_now(request, obj) if obj else Status.DRAFT
        proposing = getattr(request, "proposing", False)
        transition = None
        if request.method == "POST" and request.POST.get("_transition"):
            transition = workflow.TRANSITIONS.get(request.POST["_transition"])
            if transition is None:
                messages.error(request, "That is not a workflow step. Nothing was saved.")
                return HttpResponseRedirect(request.get_full_path())
        request.workflow_state = WorkflowState(current=current, transition=transition)
        publisher = self.has_publish_permission(request)
        extra_context = {
            **(extra_context or {}),
            # A new record can only be saved as a draft, submitted or published.
            "transitions": []
            if proposing
            else [
                t
                for t in workflow.available(current, request.user)
                if obj or t.name in ("submit", "publish")
            ],
            "current_status": Status(current),
            # A published record's form offers "Propose these changes" (not History's
            # restore form, which has a status_now).
            "may_propose": obj is not None
            and current == Status.PUBLISHED
            and getattr(request, "status_now", None) is None,
            "proposal_only": proposing and not publisher,
            "open_proposals": list(obj.proposals.filter(state="open").select_related("created_by"))
            if obj is not None and current == Status.PUBLISHED
            else [],
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
        restoring = getattr(request, "restoring", None)
        if restoring is not None:
            # Publication dates are the record's story, not a version's content.
            obj.published_at = restoring.published_at
        super().save_model(request, obj, form, change)
        if reversion.is_active():
            workflow.record_step(
                obj, self._step(request, change), form.cleaned_data.get("history_comment", "")
            )

    def _step(self, request, change):
        if getattr(request, "recovering", False):
            return "recovered"
        if getattr(request, "restoring", None) is not None:
            return "restored"
        transition = request.workflow_state.transition
        if transition:
            return transition.name
        return "edited" if change else "added"

    def save_formset(self, request, form, formset, change):
        # What "New source #N" or "New quote #N" means: the Nth row of that section, saved
        # just before (request.saved_rows).
        saved_rows = getattr(request, "saved_rows", {})
        if formset.model in (Quote, Metric):
            for row_form in formset.forms:
                if row_form in formset.deleted_forms or not hasattr(row_form, "cleaned_data"):
                    continue
                for name, (prefix, _noun) in row_form.citing.items():
                    cites = row_form.cleaned_data.get(name) or ""
                    if cites.startswith("#"):
                        pk = getattr(saved_rows.get(prefix, {}).get(cites), "pk", None)
                    else:
                        pk = int(cites) if cites else None
                    setattr(row_form.instance, CITED_ATTNAMES[prefix], pk)
                metric = row_form.instance
                if formset.model is Metric and metric.quote_id and not metric.source_id:
                    metric.source_id = Quote.objects.get(pk=metric.quote_id).source_id
        super().save_formset(request, form, formset, change)
        if formset.model in (Source, Quote):
            saved_rows[formset.prefix] = {
                f"#{n}": row_form.instance for n, row_form in enumerate(formset.forms, start=1)
            }
            request.saved_rows = saved_rows

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

    def changelist_view(self, request, extra_context=None):
        # Unlike VersionAdmin, no revision around the whole list: each workflow action
        # records one revision per initiative, so restoring one never reverts the others.
        context = {
            "has_change_permission": self.has_change_permission(request),
            "may_recover": self.has_publish_permission(request),
        }
        return admin.ModelAdmin.changelist_view(self, request, {**context, **(extra_context or {})})

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
