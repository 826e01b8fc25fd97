"""An initiative's history in words: who made each step, what changed, and comparisons.

The timeline merges django-reversion's revisions of the record (each with its HistoryEntry:
what the step was and the comment typed with it) and the proposals made on it, which change
nothing until a Publisher publishes them.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from reversion.models import Version

from catalogue import records
from catalogue.models import HistoryEntry, Initiative, Proposal

NOBODY = "someone no longer here"


def who(user, fallback=NOBODY):
    return user.get_username() if user is not None else fallback


@dataclass
class Event:
    date: object
    headline: str  # "Published by pablo"
    comment: str = ""  # typed by the person who made the step
    changes: list = field(default_factory=list)  # (label, before, after), see records.differences
    version: Version | None = None
    url: str = ""  # the version's preview and restore, or the proposal's review
    link_text: str = ""


def _headline(revision, entry):
    user = who(revision.user, fallback="a command or import")
    if entry is None:  # recorded before history said what each step was
        what = revision.get_comment() or "Changed"
        return f"{what.rstrip('.')} (by {user})"
    if entry.action == HistoryEntry.Action.PROPOSAL_PUBLISHED and entry.proposal_id:
        proposer = who(entry.proposal.created_by)
        return f"Published by {user}: changes proposed by {proposer}"
    return f"{entry.get_action_display()} by {user}"


def versions_of(initiative_pk):
    return (
        Version.objects.get_for_object_reference(Initiative, initiative_pk)
        .select_related("revision", "revision__user")
        .order_by("revision__date_created", "pk")
    )


def timeline(initiative_pk, version_url):
    """Every event of the record, newest first. `version_url(version)` links a version."""
    versions = list(versions_of(initiative_pk))
    entries = {
        e.revision_id: e
        for e in HistoryEntry.objects.filter(
            revision__in=[v.revision_id for v in versions]
        ).select_related("proposal__created_by")
    }
    snapshots = [records.from_revision(v.revision, initiative_pk) for v in versions]
    proposals = list(
        Proposal.objects.filter(initiative_id=initiative_pk).select_related(
            "created_by", "decided_by"
        )
    )
    names = records.Names(
        *snapshots, *(p.proposed for p in proposals), *(p.base for p in proposals)
    )
    events = []
    previous = None
    for version, snapshot in zip(versions, snapshots, strict=True):
        entry = entries.get(version.revision_id)
        changes = records.differences(previous, snapshot, names) if snapshot else []
        events.append(
            Event(
                date=version.revision.date_created,
                headline=_headline(version.revision, entry),
                comment=entry.comment if entry else "",
                changes=changes,
                version=version,
                url=version_url(version),
                link_text="Preview this version",
            )
        )
        previous = snapshot or previous
    for proposal in proposals:
        url = proposal.get_absolute_url()
        events.append(
            Event(
                date=proposal.created_at,
                headline=f"Changes proposed by {who(proposal.created_by)}",
                comment=proposal.comment,
                changes=records.differences(proposal.base, proposal.proposed, names),
                url=url,
                link_text="Review the proposal"
                if proposal.is_open
                else f"The proposal ({proposal.get_state_display().lower()})",
            )
        )
        if proposal.state == Proposal.State.DISCARDED:
            events.append(
                Event(
                    date=proposal.decided_at,
                    headline=(
                        f"Discarded by {who(proposal.decided_by)}: changes proposed by "
                        f"{who(proposal.created_by)}"
                    ),
                    comment=proposal.decision_comment,
                    url=url,
                    link_text="The discarded proposal",
                )
            )
    events.sort(key=lambda e: e.date, reverse=True)
    return events


def compare(initiative_pk, older, newer):
    """Field-by-field differences between two versions of one record (Version objects)."""
    a = records.from_revision(older.revision, initiative_pk)
    b = records.from_revision(newer.revision, initiative_pk)
    return records.differences(a, b, records.Names(a, b))


def version_of(initiative_pk, version_id):
    """The record's version with this id, or None (never another record's or model's)."""
    if not str(version_id).isdigit():
        return None
    return (
        Version.objects.filter(
            pk=version_id,
            object_id=str(initiative_pk),
            content_type=ContentType.objects.get_for_model(Initiative),
        )
        .select_related("revision", "revision__user")
        .first()
    )


def revision_url(initiative_pk, version):
    return reverse("admin:catalogue_initiative_revision", args=[initiative_pk, version.pk])
