"""The editorial workflow: draft, in review, published, archived.

Status changes only through the transitions below, each with the permission it needs.
Editors (change permission) submit and withdraw; publishers (the publish permission) publish,
unpublish, archive and bring archived records back. Publishing checks the record first, so
nothing incomplete goes public.
"""

from dataclasses import dataclass

import reversion
from django.db import transaction

from catalogue.models import Initiative, Status

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
}


def missing_for_publication(*, summary, lead_organisation, drivers, themes, outcomes, sources):
    """What a record lacks before it can be public, as {field: message}.

    The arguments are what the record has: values, or anything truthy for the many-valued
    ones, so the same rules check a saved record and an editor's unsaved form.
    """
    has = {
        "summary": bool((summary or "").strip()),
        "lead_organisation": bool(lead_organisation),
        "drivers": bool(drivers),
        "themes": bool(themes),
        "outcomes": bool(outcomes),
        "sources": bool(sources),
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
        reversion.set_comment(comment or transition.done)
    initiative.status = locked.status
    initiative.published_at = locked.published_at
    initiative.updated_at = locked.updated_at
    initiative.updated_by = locked.updated_by
    return transition
