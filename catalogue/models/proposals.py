"""Changes to a public record, waiting for a Publisher."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from catalogue.models.base import now_to_the_second
from catalogue.models.initiatives import Initiative
from catalogue.models.organisations import Organisation


class Proposal(models.Model):
    """Changes to a public record, kept beside the live version until a Publisher publishes
    or discards them. The public never sees a proposal.

    The record is a published initiative, or a public organisation (one a published
    initiative names): exactly one of the two.

    `base` is the record as it was when proposed and `proposed` the record as proposed, both
    snapshots (catalogue.records). Publishing applies only what differs between the two, so
    several proposals on one record can be published in turn unless they change the same
    thing (see workflow.publish_proposal).
    """

    class State(models.TextChoices):
        OPEN = "open", "Waiting for a Publisher"
        PUBLISHED = "published", "Published"
        DISCARDED = "discarded", "Discarded"

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, null=True, blank=True, related_name="proposals"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="proposals"
    )
    base = models.JSONField()
    proposed = models.JSONField()
    comment = models.TextField("Why these changes", blank=True)
    state = models.CharField(max_length=16, choices=State, default=State.OPEN)
    created_at = models.DateTimeField(default=now_to_the_second)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "initiative"], name="proposal_state_idx"),
            models.Index(fields=["state", "organisation"], name="proposal_state_org_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(initiative__isnull=False, organisation__isnull=True)
                | Q(initiative__isnull=True, organisation__isnull=False),
                name="proposal_of_one_record",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["open", "published", "discarded"]),
                name="proposal_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(state="open") | Q(decided_at__isnull=False),
                name="proposal_decided_has_date",
            ),
        ]

    def __str__(self):
        who = self.created_by or "someone no longer here"
        return f"Changes to “{self.record}” proposed by {who}"

    def get_absolute_url(self):
        return reverse("admin:catalogue_proposal_change", args=[self.pk])

    @property
    def record(self):
        """The initiative or organisation the changes are to."""
        return self.initiative if self.initiative_id is not None else self.organisation

    @classmethod
    def of(cls, record):
        """The field naming `record` in a proposal, as keywords: {"organisation": record}."""
        return {record._meta.model_name: record}

    @property
    def is_open(self):
        return self.state == self.State.OPEN
