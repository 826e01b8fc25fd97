"""The editorial workflow: draft, in review, published, archived.

Status changes only through the transitions below, each with the permission it needs.
Editors (change permission) submit and withdraw; publishers (the publish permission) publish,
unpublish, archive and bring archived records back. Publishing checks the record first, so
nothing incomplete goes public.
"""

from dataclasses import dataclass

import reversion
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalogue import records
from catalogue.models import HistoryEntry, Initiative, Organisation, Proposal, Status

PUBLISH_PERMISSION = "catalogue.publish_initiative"
CHANGE_PERMISSION = "catalogue.change_initiative"


@dataclass(frozen=True)
class Transition:
    name: str
    label: str  # the button and admin action
    done: str  # past tense, for messages and the history
    sources: frozenset
    target: str
    permission: str

    def allowed_from(self, status):
        return status in self.sources

    def permitted(self, user):
        return user.has_perm(self.permission)


TRANSITIONS = {
    t.name: t
    for t in [
        Transition(
            "submit",
            "Submit for review",
            "Submitted for review",
            frozenset({Status.DRAFT}),
            Status.IN_REVIEW,
            CHANGE_PERMISSION,
        ),
        Transition(
            "withdraw",
            "Return to draft",
            "Returned to draft",
            frozenset({Status.IN_REVIEW}),
            Status.DRAFT,
            CHANGE_PERMISSION,
        ),
        Transition(
            "publish",
            "Publish",
            "Published",
            frozenset({Status.DRAFT, Status.IN_REVIEW, Status.ARCHIVED}),
            Status.PUBLISHED,
            PUBLISH_PERMISSION,
        ),
        Transition(
            "unpublish",
            "Unpublish",
            "Unpublished (returned to draft)",
            frozenset({Status.PUBLISHED}),
            Status.DRAFT,
            PUBLISH_PERMISSION,
        ),
        Transition(
            "archive",
            "Archive",
            "Archived",
            frozenset({Status.DRAFT, Status.IN_REVIEW, Status.PUBLISHED}),
            Status.ARCHIVED,
            PUBLISH_PERMISSION,
        ),
        Transition(
            "unarchive",
            "Bring back as a draft",
            "Brought back from the archive as a draft",
            frozenset({Status.ARCHIVED}),
            Status.DRAFT,
            PUBLISH_PERMISSION,
        ),
    ]
}


class TransitionError(Exception):
    """A transition that may not happen; `problems` says why, field by field."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("; ".join(problems.values()))


# What publishing needs, and what the editor is told when it is missing.
PUBLICATION_NEEDS = {
    "summary": "Write a summary before publishing.",
    "lead_organisation": "Choose a lead organisation before publishing.",
    "drivers": "Choose at least one driver before publishing.",
    "themes": "Choose at least one theme before publishing.",
    "outcomes": "Choose at least one outcome before publishing.",
    "sources": "Add at least one source before publishing.",
    "metric_quotes": (
        "Every metric needs its source and the passage (quote) its figure comes from before "
        "publishing."
    ),
    "metrics": (
        "An evidence level of 2 or higher needs at least one metric: add the measured result, "
        "or choose level 1."
    ),
}

# Nesta's level 2 is "data on effects": a record claiming it shows the data.
MEASURED_EVIDENCE_LEVEL = 2


def missing_for_publication(
    *,
    summary,
    lead_organisation,
    drivers,
    themes,
    outcomes,
    sources,
    metrics_cited=True,
    evidence_measured=True,
):
    """What a record lacks before it can be public, as {field: message}.

    The arguments are what the record has: values, or anything truthy for the many-valued
    ones, so the same rules check a saved record and an editor's unsaved form (whose
    metrics the admin's metric rows check, so the last two default to satisfied).
    """
    has = {
        "summary": bool((summary or "").strip()),
        "lead_organisation": bool(lead_organisation),
        "drivers": bool(drivers),
        "themes": bool(themes),
        "outcomes": bool(outcomes),
        "sources": bool(sources),
        "metric_quotes": bool(metrics_cited),
        "metrics": bool(evidence_measured),
    }
    return {field: message for field, message in PUBLICATION_NEEDS.items() if not has[field]}


def publication_problems(initiative):
    """What a saved initiative lacks before it can be published."""
    return missing_for_publication(
        summary=initiative.summary,
        lead_organisation=initiative.lead_organisation_id,
        drivers=initiative.drivers.exists(),
        themes=initiative.themes.exists(),
        outcomes=initiative.outcomes.exists(),
        sources=initiative.sources.exists(),
        metrics_cited=not initiative.metrics.filter(
            Q(source__isnull=True) | Q(quote__isnull=True)
        ).exists(),
        evidence_measured=initiative.evidence_level < MEASURED_EVIDENCE_LEVEL
        or initiative.metrics.exists(),
    )


def available(status, user):
    """The transitions this user may make from `status`, in table order."""
    return [t for t in TRANSITIONS.values() if t.allowed_from(status) and t.permitted(user)]


def refusal(transition, status, user):
    """Why `user` may not make `transition` from `status`, or None when they may."""
    if not transition.allowed_from(status):
        return (
            f"A record that is {Status(status).label.lower()} cannot be changed by "
            f"“{transition.label}”."
        )
    if not transition.permitted(user):
        return f"You do not have permission to “{transition.label.lower()}”."
    return None


def check(initiative, name, user):
    """Raise TransitionError unless `user` may make transition `name` now."""
    transition = TRANSITIONS[name]
    reason = refusal(transition, initiative.status, user)
    if reason:
        raise TransitionError({"status": reason})
    if transition.target == Status.PUBLISHED:
        problems = publication_problems(initiative)
        if problems:
            raise TransitionError(problems)
    return transition


def apply(initiative, name, user, comment=""):
    """Make transition `name` on a saved initiative, recorded in its history.

    Raises TransitionError, changing nothing, when it is not allowed.
    """
    with transaction.atomic(), reversion.create_revision():
        # Lock the row so two publishers acting at once cannot interleave.
        locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
        transition = check(locked, name, user)
        locked.status = transition.target
        locked.updated_by = user if user.is_authenticated else None
        locked.save()
        reversion.set_user(locked.updated_by)
        reversion.set_comment(transition.done)
        record_step(locked, transition.name, comment)
    initiative.status = locked.status
    initiative.published_at = locked.published_at
    initiative.updated_at = locked.updated_at
    initiative.updated_by = locked.updated_by
    return transition


def record_step(initiative, action, comment="", proposal=None):
    """Say in the revision being made what it was, and the comment typed with it.

    Call inside reversion.create_revision(), once per revision.
    """
    reversion.add_meta(
        HistoryEntry,
        initiative_pk=initiative.pk,
        action=action,
        comment=(comment or "").strip(),
        proposal=proposal,
    )


# Proposed changes to a public record: kept beside it until a Publisher decides.


def is_public(organisation):
    """Whether the public sees the organisation: a published initiative names it. Then only
    a Publisher changes it directly; an Editor's changes are a proposal."""
    return Organisation.objects.public().filter(pk=organisation.pk).exists()


def propose(record, base, proposed, user, comment=""):
    """Keep `proposed` (a snapshot) as a proposal for `record`: a published initiative or a
    public organisation.

    Returns the Proposal, or None when it changes nothing.
    """
    proposed = records.renumber_new_rows(base, proposed, type(record))
    if proposed == base:
        return None
    return Proposal.objects.create(
        **Proposal.of(record),
        base=base,
        proposed=proposed,
        comment=(comment or "").strip(),
        created_by=user if user.is_authenticated else None,
    )


def _open_proposal(proposal):
    locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if not locked.is_open:
        raise TransitionError(
            {"state": f"This proposal has already been {locked.get_state_display().lower()}."}
        )
    return locked


def _conflicts(conflicts):
    return TransitionError(
        {
            "conflicts": "Changed in the published record since this proposal was made: "
            + "; ".join(conflicts)
            + ". Discard this proposal and propose the changes again from the record as it "
            "is now."
        }
    )


def _decide(proposal, state, user, comment):
    proposal.state = state
    proposal.decided_by = user
    proposal.decided_at = timezone.now()
    proposal.decision_comment = (comment or "").strip()
    proposal.save()


def publish_proposal(proposal, user, comment=""):
    """Apply a proposal to its live record, in one step, recorded in its history.

    Raises TransitionError, changing nothing, when the user may not, the proposal is no
    longer open, the record is no longer published, what it changes has changed in the live
    record since, or the result would break the publishing rules.
    """
    if not user.has_perm(PUBLISH_PERMISSION):
        raise TransitionError({"state": "Only a Publisher can publish proposed changes."})
    if proposal.organisation_id is not None:
        return _publish_organisation_proposal(proposal, user, comment)
    try:
        with transaction.atomic(), reversion.create_revision():
            locked = _open_proposal(proposal)
            initiative = Initiative.objects.select_for_update().get(pk=locked.initiative_id)
            if initiative.status != Status.PUBLISHED:
                raise TransitionError(
                    {
                        "state": f"The record is {initiative.get_status_display().lower()} "
                        "now, not published: edit it directly, or discard this proposal."
                    }
                )
            merged, conflicts = records.merge(
                locked.base, locked.proposed, records.snapshot(initiative)
            )
            if conflicts:
                raise _conflicts(conflicts)
            initiative.updated_by = user
            records.write(initiative, merged)
            problems = publication_problems(initiative)
            if problems:
                raise TransitionError(problems)
            _decide(locked, Proposal.State.PUBLISHED, user, comment)
            reversion.add_to_revision(initiative)
            reversion.set_user(user)
            reversion.set_comment(f"Published changes proposed by {locked.created_by or 'someone'}")
            record_step(initiative, HistoryEntry.Action.PROPOSAL_PUBLISHED, comment, locked)
    except ValidationError as error:
        raise TransitionError({"state": " ".join(error.messages)}) from error
    proposal.refresh_from_db()
    return proposal


def _publish_organisation_proposal(proposal, user, comment):
    """An organisation has no status or history of its own: publishing writes what the
    proposal changed onto the row, whether or not it is still public (a Publisher may edit
    it directly anyway). Renaming it updates the search documents of the initiatives that
    name it (PostgreSQL: the trigger of migration 0002; SQLite searches the live names)."""
    try:
        with transaction.atomic():
            locked = _open_proposal(proposal)
            organisation = Organisation.objects.select_for_update().get(pk=locked.organisation_id)
            merged, conflicts = records.merge(
                locked.base, locked.proposed, records.snapshot(organisation), Organisation
            )
            if conflicts:
                raise _conflicts(conflicts)
            records.write(organisation, merged)
            _decide(locked, Proposal.State.PUBLISHED, user, comment)
    except ValidationError as error:
        raise TransitionError({"state": " ".join(error.messages)}) from error
    proposal.refresh_from_db()
    return proposal


def discard_proposal(proposal, user, comment=""):
    """Close a proposal without changing the record: its proposer or a Publisher may."""
    with transaction.atomic():
        locked = _open_proposal(proposal)
        if not (user.has_perm(PUBLISH_PERMISSION) or locked.created_by_id == user.pk):
            raise TransitionError(
                {"state": "Only a Publisher or the person who proposed it can discard this."}
            )
        _decide(locked, Proposal.State.DISCARDED, user, comment)
    proposal.refresh_from_db()
    return proposal
