"""What changed and when: the catalogue's version number, and each revision of an
initiative in words (django-reversion keeps the revisions)."""

import reversion
from django.db import models
from django.db.models import Q
from django.urls import reverse

from catalogue.models.evidence import Metric, Quote, Source
from catalogue.models.initiatives import Initiative, Partnership


class CatalogueVersion(models.Model):
    """One row whose number changes whenever anything a list page shows changes.

    On PostgreSQL, statement-level triggers (migration 0003) move it on every write to the
    initiatives, their links, partnerships, organisations, places and taxonomies, however
    the write was made: once per transaction, at its commit (migration 0015, which also logs
    the initiatives each version changed). Cached facet counts are keyed by it.
    """

    number = models.BigIntegerField(default=0)

    class Meta:
        # Created by migration 0003 and left out of flushes, so the row is always there.
        managed = False
        db_table = "catalogue_catalogueversion"
        ordering = ["pk"]

    def __str__(self):
        return f"Catalogue version {self.number}"

    def get_absolute_url(self):
        return reverse("initiative-list")


class HistoryAction(models.TextChoices):
    ADDED = "added", "Added"
    EDITED = "edited", "Edited"
    SUBMITTED = "submit", "Submitted for review"
    RETURNED = "withdraw", "Returned to draft"
    PUBLISHED = "publish", "Published"
    UNPUBLISHED = "unpublish", "Unpublished"
    ARCHIVED = "archive", "Archived"
    UNARCHIVED = "unarchive", "Brought back from the archive as a draft"
    RESTORED = "restored", "Restored an earlier version"
    RECOVERED = "recovered", "Recovered after deletion, as a draft"
    DELETED = "deleted", "Deleted"
    PROPOSAL_PUBLISHED = "proposal-published", "Published proposed changes"
    IMPORTED = "imported", "Imported"


class HistoryEntry(models.Model):
    """What one revision in an initiative's history was, in words, and the comment typed
    when making it. Attached to django-reversion's revision (reversion.add_meta)."""

    Action = HistoryAction

    revision = models.OneToOneField(
        "reversion.Revision", on_delete=models.CASCADE, related_name="entry"
    )
    # A plain number, not a foreign key: a deleted record's history stays, for its recovery.
    initiative_pk = models.PositiveBigIntegerField(db_index=True)
    action = models.CharField(max_length=32, choices=Action)
    comment = models.TextField(blank=True)
    proposal = models.ForeignKey(
        "Proposal", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-revision__date_created"]
        verbose_name_plural = "history entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=HistoryAction.values),
                name="historyentry_action_valid",
            ),
        ]

    def __str__(self):
        return self.get_action_display()

    def get_absolute_url(self):
        return reverse("admin:catalogue_initiative_history", args=[self.initiative_pk])


# History (django-reversion): an initiative's version holds its fields and tags, and follows
# its partnerships, metrics and sources, so one revision restores the whole record.
reversion.register(Partnership)
reversion.register(Metric)
reversion.register(Source)
reversion.register(Quote)
reversion.register(
    Initiative,
    exclude=["search_vector"],
    follow=["partnerships", "metrics", "sources", "quotes"],
)
