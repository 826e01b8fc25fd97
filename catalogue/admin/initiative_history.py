"""An initiative's History in the admin: its versions, comparing two, restoring one and
recovering a deleted record."""

import reversion
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from reversion.models import Version

from catalogue import history, workflow
from catalogue.models import Initiative, Status


class InitiativeHistoryMixin:
    """For InitiativeAdmin (which has status_now and the permission checks): History's
    views, and a snapshot before each deletion so a deleted initiative can be recovered."""

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
