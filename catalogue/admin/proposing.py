"""Changes to public records kept as proposals: how a change form proposes, and the review
queue where a Publisher publishes or discards them."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from catalogue import records, workflow
from catalogue.admin.hostile import HostileQueryMixin
from catalogue.models import Proposal


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
