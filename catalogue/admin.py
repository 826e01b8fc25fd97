from dataclasses import dataclass

import reversion
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from reversion.admin import VersionAdmin
from reversion.models import Version

from catalogue import history, records, workflow
from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Metric,
    Organisation,
    Outcome,
    Partnership,
    Place,
    Proposal,
    Quote,
    Sector,
    Source,
    Status,
    Theme,
)

admin.site.site_header = "Case-study catalogue: editors"
admin.site.site_title = "Catalogue admin"
admin.site.index_title = "Catalogue"


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


class PartnershipInline(admin.TabularInline):
    model = Partnership
    extra = 1
    autocomplete_fields = ["organisation"]


class CitingForm(forms.ModelForm):
    """A row that cites other rows of its record: one already saved, or one being added in
    the same form (numbered as its section numbers its new rows), so no second save is
    needed before a new record's quote can be from its new source, or its metric cite a new
    quote. `citing` is {form field: (the cited inline's prefix, what a row of it is called)};
    the choices are set by CitingInline.get_formset."""

    citing = {}
    choices = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (prefix, _noun) in self.citing.items():
            self.fields[name].choices = self.choices[name]
            attname = CITED_ATTNAMES[prefix]
            if getattr(self.instance, attname):
                self.initial.setdefault(name, str(getattr(self.instance, attname)))


# The inline prefix of a cited section, and the attribute a citing row holds its pk in.
CITED_ATTNAMES = {"sources": "source_id", "quotes": "quote_id"}


def cited_row(data, prefix, cites):
    """Whether `cites` (a saved pk, or "#N" for the Nth row of the `prefix` formset) names a
    row kept in this post, and the problem in words if not."""
    try:
        saved = int(data.get(f"{prefix}-INITIAL_FORMS", 0))
    except ValueError:
        return None  # that formset reports its own broken management form
    noun = "source" if prefix == "sources" else "quote"
    filled = "title" if prefix == "sources" else "text"
    if cites.startswith("#"):
        index = int(cites[1:]) - 1
        if index < saved or not data.get(f"{prefix}-{index}-{filled}", "").strip():
            return (
                f"There is no new {noun} {cites} with a {filled} in "
                f"{prefix.capitalize()} below: fill it in, or choose another {noun}."
            )
        if data.get(f"{prefix}-{index}-DELETE"):
            return f"New {noun} {cites} is being removed: choose another."
        return None
    for index in range(saved):
        if data.get(f"{prefix}-{index}-id") == cites and data.get(f"{prefix}-{index}-DELETE"):
            return f"This {noun} is being removed: choose another, or keep the {noun}."
    return None


class CitingFormSet(BaseInlineFormSet):
    # Set by get_formset when the record will be public after this save.
    will_be_published = False

    def kept_forms(self):
        return [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
        ]

    def clean(self):
        super().clean()
        for form in self.kept_forms():
            for name, (prefix, _noun) in form.citing.items():
                cites = form.cleaned_data.get(name) or ""
                problem = cited_row(self.data, prefix, cites) if cites else None
                if problem:
                    form.add_error(name, problem)


class QuoteForm(CitingForm):
    source_choice = forms.ChoiceField(
        label="From source",
        required=False,
        help_text="The source it is quoted from. A new source is numbered as in Sources.",
    )
    citing = {"source_choice": ("sources", "source")}

    class Meta:
        model = Quote
        fields = ["text", "locator"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}


class QuoteFormSet(CitingFormSet):
    def clean(self):
        super().clean()
        for form in self.kept_forms():
            if not form.cleaned_data.get("source_choice"):
                form.add_error("source_choice", "Choose the source this passage is quoted from.")


class MetricForm(CitingForm):
    cites = forms.ChoiceField(
        label="Source",
        required=False,
        help_text="The source its figure comes from. A new source is numbered as in Sources. "
        "Left empty, it is the passage's source.",
    )
    passage = forms.ChoiceField(
        label="Passage",
        required=False,
        help_text="The quote its figure is in. A new quote is numbered as in Quotes.",
    )
    citing = {"cites": ("sources", "source"), "passage": ("quotes", "quote")}

    class Meta:
        model = Metric
        fields = ["label", "value", "unit", "direction", "baseline", "period"]


def passage_source(data, passage):
    """The source choice ("12" or "#2") of the quote a metric's passage choice names."""
    if passage.startswith("#"):
        return data.get(f"quotes-{int(passage[1:]) - 1}-source_choice") or None
    found = Quote.objects.filter(pk=passage).values_list("source_id", flat=True).first()
    return None if found is None else str(found)


class MetricFormSet(CitingFormSet):
    def clean(self):
        super().clean()
        kept = self.kept_forms()
        for form in kept:
            cites = form.cleaned_data.get("cites") or ""
            passage = form.cleaned_data.get("passage") or ""
            other = cites and passage and passage_source(self.data, passage) not in (None, cites)
            if other:
                form.add_error("passage", "This passage is from another source.")
            if self.will_be_published:
                if not passage:
                    form.add_error("passage", workflow.PUBLICATION_NEEDS["metric_quotes"])
                elif not cites and not passage_source(self.data, passage):
                    form.add_error("cites", workflow.PUBLICATION_NEEDS["metric_quotes"])
        if self.will_be_published and not kept:
            try:
                level = int(self.data.get("evidence_level") or 1)
            except ValueError:
                return  # the evidence level field says what is wrong with it
            if level >= workflow.MEASURED_EVIDENCE_LEVEL:
                raise ValidationError(workflow.PUBLICATION_NEEDS["metrics"])


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


def will_be_published(request):
    state = getattr(request, "workflow_state", None)
    return bool(state and state.target == Status.PUBLISHED)


class SourceInline(admin.StackedInline):
    model = Source
    formset = SourceFormSet
    extra = 1
    fields = [
        ("title", "url"),
        ("author", "publisher"),
        ("published_on", "accessed_on"),
        "copy_file",
    ]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.will_be_published = will_be_published(request)
        return formset


# Rows a quote or metric may cite beyond those already saved: the new rows the form offers.
NEW_ROW_CHOICES = 5


class CitingInline(admin.TabularInline):
    extra = 1

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        choices = {}
        for name, (prefix, noun) in formset.form.citing.items():
            model = Source if prefix == "sources" else Quote
            saved = list(model.objects.filter(initiative=obj.pk)) if obj and obj.pk else []
            choices[name] = [
                ("", "---------"),
                *((str(row.pk), str(row)) for row in saved),
                *(
                    (f"#{n}", f"New {noun} #{n} (in {prefix.capitalize()} above)")
                    for n in range(len(saved) + 1, len(saved) + 1 + NEW_ROW_CHOICES)
                ),
            ]
        formset.form = type(formset.form.__name__, (formset.form,), {"choices": choices})
        formset.will_be_published = will_be_published(request)
        return formset


class QuoteInline(CitingInline):
    model = Quote
    form = QuoteForm
    formset = QuoteFormSet
    fields = ["text", "locator", "source_choice"]
    verbose_name = "quote: a passage of a source that supports the record"
    verbose_name_plural = "quotes: the passages of the sources that support the record"


class MetricInline(CitingInline):
    model = Metric
    form = MetricForm
    formset = MetricFormSet
    fields = ["label", "value", "unit", "direction", "baseline", "period", "cites", "passage"]


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


class _RolledBack(Exception):
    """Leaves a transaction that saved a proposal's form, so nothing of it stays."""

    def __init__(self, result):
        self.result = result


class ProposingAdmin:
    """For a ModelAdmin of records the public sees: an Editor's change form on a public
    record (`is_public`) is saved as a Proposal, never onto the live record; a Publisher's
    form saves directly, or is proposed too when they press "Propose these changes"."""

    def has_publish_permission(self, request):
        return request.user.has_perm(workflow.PUBLISH_PERMISSION)

    def is_public(self, request, obj):
        raise NotImplementedError

    def proposal_refusal(self, request):
        """Why this post cannot be kept as a proposal, or None."""
        return None

    def proposal_made(self, request, obj, proposal):
        """Note a new proposal where the record's history will show it."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.is_public(request, obj):
            publisher = self.has_publish_permission(request)
            request.proposing = not publisher or "_propose" in request.POST
            if request.method == "POST" and request.proposing:
                return self._propose(request, obj, object_id, form_url, extra_context)
            request.proposing = not publisher  # a Publisher's form saves onto the live record
        return super().change_view(request, object_id, form_url, extra_context)

    def _propose(self, request, obj, object_id, form_url, extra_context):
        """Save the form as the proposal it is: the admin's own save path runs, validation,
        inlines and publishing rules included, and is then rolled back, keeping only the
        record it would have made."""
        refusal = self.proposal_refusal(request)
        if refusal:
            messages.error(request, refusal)
            return HttpResponseRedirect(request.get_full_path())
        request.saving_proposal = True
        try:
            with transaction.atomic():
                base = records.snapshot(self.model.objects.select_for_update().get(pk=obj.pk))
                response = self.changeform_view(request, object_id, form_url, extra_context)
                if response.status_code != 302:
                    if hasattr(response, "render"):
                        response.render()  # with the form's errors, before the rollback
                    raise _RolledBack(response)
                raise _RolledBack(records.snapshot(self.model.objects.get(pk=obj.pk)))
        except _RolledBack as rolled_back:
            result = rolled_back.result
        finally:
            request.saving_proposal = False
        if not isinstance(result, dict):
            return result
        proposal = workflow.propose(
            obj, base, result, request.user, request.POST.get("history_comment", "")
        )
        if proposal is None:
            messages.warning(request, "You changed nothing, so nothing was proposed.")
            return HttpResponseRedirect(request.get_full_path())
        self.proposal_made(request, obj, proposal)
        messages.success(
            request,
            "Your changes are kept as a proposal for a Publisher to review. The public still "
            "sees the published version.",
        )
        return HttpResponseRedirect(proposal.get_absolute_url())

    def response_change(self, request, obj):
        if getattr(request, "saving_proposal", False):
            # The save is rolled back and kept as a proposal: no popup response or message
            # saying it was made.
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def message_user(self, request, *args, **kwargs):
        if getattr(request, "saving_proposal", False):
            return  # the admin's "changed successfully": nothing was, yet
        super().message_user(request, *args, **kwargs)


@admin.register(Initiative)
class InitiativeAdmin(ProposingAdmin, HostileQueryMixin, VersionAdmin):
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

    # History. Who may restore or recover is decided by the record as it is in the database
    # now and the user's role, never by the version being previewed (which reversion has
    # already written into the row when the form is built). A restore keeps the record's
    # status and publication dates; a recovered record comes back a draft.

    def revision_view(self, request, object_id, version_id, extra_context=None):
        pk = unquote(object_id)
        now = Initiative.objects.filter(pk=pk).only("status", "published_at").first()
        version = history.version_of(pk, version_id)
        if version is None:
            raise Http404("No such version of this initiative.")
        if now is None:
            messages.error(
                request,
                "This initiative has been deleted. A Publisher can bring it back from "
                "“Recover deleted initiatives”.",
            )
            return HttpResponseRedirect(reverse("admin:catalogue_initiative_changelist"))
        request.status_now = now.status
        request.restoring = now
        if not self.has_change_permission(request, now):
            if request.method == "POST":
                raise PermissionDenied
            messages.info(
                request,
                f"This record is {now.get_status_display().lower()}: only a Publisher can "
                "restore an earlier version of it. You can read this version here.",
            )
        return super().revision_view(request, object_id, version_id, extra_context)

    def recover_view(self, request, version_id, extra_context=None):
        # Undoing a deletion is a Publisher's decision, as the deletion was.
        if not (self.has_publish_permission(request) and self.has_add_permission(request)):
            raise PermissionDenied
        version = Version.objects.filter(pk=version_id).select_related("content_type").first()
        if version is None or version.content_type.model_class() is not Initiative:
            raise Http404("No such deleted initiative.")
        if Initiative.objects.filter(pk=version.object_id).exists():
            messages.error(
                request,
                "That initiative has not been deleted: restore an earlier version from its "
                "History instead.",
            )
            return HttpResponseRedirect(
                reverse("admin:catalogue_initiative_history", args=[version.object_id])
            )
        request.status_now = Status.DRAFT
        request.recovering = True
        return super().recover_view(request, version_id, extra_context)

    def recoverlist_view(self, request, extra_context=None):
        if not self.has_publish_permission(request):
            raise PermissionDenied
        return super().recoverlist_view(request, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        pk = unquote(object_id)
        context = {
            "events": history.timeline(pk, lambda v: history.revision_url(pk, v)),
            "comparison": self._comparison(request, pk),
            **(extra_context or {}),
        }
        return admin.ModelAdmin.history_view(self, request, object_id, context)

    def _comparison(self, request, pk):
        """The differences between the two versions chosen in History, if any were."""
        if "older" not in request.GET and "newer" not in request.GET:
            return None
        older = history.version_of(pk, request.GET.get("older", ""))
        newer = history.version_of(pk, request.GET.get("newer", ""))
        if older is None or newer is None:
            return {"error": "Choose two versions of this record to compare."}
        if older.revision.date_created > newer.revision.date_created:
            older, newer = newer, older
        return {
            "older": older,
            "newer": newer,
            "changes": history.compare(pk, older, newer),
        }

    def changelist_view(self, request, extra_context=None):
        # Unlike VersionAdmin, no revision around the whole list: each workflow action
        # records one revision per initiative, so restoring one never reverts the others.
        context = {
            "has_change_permission": self.has_change_permission(request),
            "may_recover": self.has_publish_permission(request),
        }
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
                workflow.record_step(initiative, "deleted")

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


class ProposalAdmin(HostileQueryMixin, admin.ModelAdmin):
    """Proposed changes to published records: the review queue, and each proposal's
    differences with Publish and Discard."""

    list_display = ["__str__", "state", "created_by", "created_at", "decided_by"]
    list_filter = ["state"]
    list_select_related = ["initiative", "organisation", "created_by", "decided_by"]
    search_fields = ["initiative__title", "organisation__name", "comment"]
    change_form_template = "admin/catalogue/proposal/review.html"

    # Anyone who may read initiatives may read proposals; deciding is checked per step.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("catalogue.view_initiative")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False  # proposals are made from a published record's change form

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("initiative", "organisation")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        proposal = self.get_object(request, unquote(object_id))
        if proposal is None or not self.has_view_permission(request, proposal):
            raise PermissionDenied if proposal else Http404("No such proposal.")
        comment = request.POST.get("comment", "")
        error = None
        if request.method == "POST":
            step = request.POST.get("step")
            try:
                if step == "publish":
                    workflow.publish_proposal(proposal, request.user, comment)
                    if proposal.organisation_id is not None:
                        # An organisation's history is the admin's log.
                        self.log_change(
                            request,
                            proposal.organisation,
                            f"Published changes proposed by {proposal.created_by or 'someone'}",
                        )
                    messages.success(
                        request, f"Published the proposed changes: “{proposal.record}”."
                    )
                elif step == "discard":
                    workflow.discard_proposal(proposal, request.user, comment)
                    messages.success(
                        request, f"Discarded the proposed changes: “{proposal.record}”."
                    )
                else:
                    raise workflow.TransitionError({"step": "Choose Publish or Discard."})
            except workflow.TransitionError as refused:
                error = " ".join(refused.problems.values())
            else:
                return HttpResponseRedirect(request.get_full_path())
        record = proposal.record
        model = type(record)
        live = records.snapshot(record)
        names = records.Names(live, proposal.base, proposal.proposed)
        merged, conflicts = records.merge(proposal.base, proposal.proposed, live, model)
        admin_name = f"admin:catalogue_{model._meta.model_name}"
        if proposal.organisation_id is not None:
            shown = "public" if workflow.is_public(record) else "no longer public"
        else:
            shown = record.get_status_display().lower()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(proposal),
            "subtitle": None,
            "proposal": proposal,
            "original": proposal,
            "record": record,
            "record_state": shown,
            "changes": records.differences(live, merged, names, model),
            "proposed_changes": records.differences(proposal.base, proposal.proposed, names, model),
            "conflicts": conflicts,
            "may_publish": proposal.is_open and request.user.has_perm(workflow.PUBLISH_PERMISSION),
            "may_discard": proposal.is_open
            and (
                request.user.has_perm(workflow.PUBLISH_PERMISSION)
                or proposal.created_by_id == request.user.pk
            ),
            "error": error,
            "comment": comment,
            "record_url": reverse(f"{admin_name}_change", args=[record.pk]),
            "history_url": reverse(f"{admin_name}_history", args=[record.pk]),
            **(extra_context or {}),
        }
        return TemplateResponse(
            request, self.change_form_template, context, status=400 if error else 200
        )


admin.site.register(Proposal, ProposalAdmin)


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


# Staff accounts: adding an Editor or a Publisher is one page (username, email, role and
# password), not an add page followed by a change page to make them staff and pick a group.

ROLES = {
    "Editors": "Editor: writes and changes drafts, proposes changes to published records",
    "Publishers": "Publisher: also publishes, unpublishes, archives and deletes",
}


class StaffCreationForm(AdminUserCreationForm):
    role = forms.ChoiceField(
        label="Role",
        choices=[("", "No role: not a member of staff"), *ROLES.items()],
        required=False,
        widget=forms.RadioSelect,
        help_text="Editors and Publishers can sign in to this admin.",
    )

    class Meta(AdminUserCreationForm.Meta):
        fields = ("username", "email")

    def save(self, commit=True):
        user = super().save(commit=False)
        user.is_staff = bool(self.cleaned_data.get("role"))
        if commit:
            user.save()
            self._save_m2m()
        return user

    def _save_m2m(self):
        super()._save_m2m()
        role = self.cleaned_data.get("role")
        if role:
            self.instance.groups.add(Group.objects.get(name=role))


class StaffUserAdmin(HostileQueryMixin, UserAdmin):
    add_form = StaffCreationForm
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "email",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        )
    ]
    list_display = ["username", "email", "roles", "is_staff", "is_active", "last_login"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Groups")
    def roles(self, obj):
        return ", ".join(group.name for group in obj.groups.all())


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), StaffUserAdmin)
