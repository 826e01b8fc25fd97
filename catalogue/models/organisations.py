"""The bodies that lead initiatives or take part in them."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django_countries.fields import CountryField

from catalogue.models.base import SlugManager


class OrganisationKind(models.TextChoices):
    CENTRAL_GOVERNMENT = "central-government", "Central government"
    ARMS_LENGTH_BODY = "arms-length-body", "Arm's-length body"
    REGIONAL_GOVERNMENT = "regional-government", "Regional government"
    LOCAL_AUTHORITY = "local-authority", "Local authority"
    COMBINED_AUTHORITY = "combined-authority", "Combined authority"
    PUBLIC_CORPORATION = "public-corporation", "Public corporation"
    NHS_BODY = "nhs-body", "NHS body"
    PRIVATE_COMPANY = "private-company", "Private company"
    UNIVERSITY = "university", "University or research"
    NON_PROFIT = "non-profit", "Non-profit"
    INTERNATIONAL_BODY = "international-body", "International body"
    NETWORK = "network", "Network"
    CONSORTIUM = "consortium", "Consortium"
    OTHER = "other", "Other or not known"


class OrganisationQuerySet(models.QuerySet):
    def public(self):
        """Organisations anyone may see: one is public only through a published initiative.
        The organisation pages, the API, the sitemap, the list's organisation filter and the
        workflow's rules all ask this, so they never disagree.

        Two EXISTS, each an index probe per organisation: `pk IN (subquery) OR pk IN (...)`
        can only be hashed while the published ids fit in work_mem; past that PostgreSQL
        rescans them for every organisation (80 s for the sitemap at 300,000 initiatives).
        """
        from catalogue.models.initiatives import Initiative, Partnership  # defined after

        published = Initiative.Status.PUBLISHED
        return self.filter(
            models.Exists(
                Initiative.objects.published().filter(lead_organisation=models.OuterRef("pk"))
            )
            | models.Exists(
                Partnership.objects.filter(
                    organisation=models.OuterRef("pk"), initiative__status=published
                )
            )
        )

    def with_counts(self):
        """Each with `led_count` and `partnered_count`: published initiatives it led, and
        those it took part in (once each, whatever its roles). Correlated counts, so the two
        never multiply each other as two joins would."""
        from catalogue.models.initiatives import Initiative, Partnership  # defined after

        published = Initiative.Status.PUBLISHED
        led = (
            Initiative.objects.published()
            .filter(lead_organisation=models.OuterRef("pk"))
            .order_by()
            .values("lead_organisation")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        partnered = (
            Partnership.objects.filter(
                organisation=models.OuterRef("pk"), initiative__status=published
            )
            .order_by()
            .values("organisation")
            .annotate(n=models.Count("initiative", distinct=True))
            .values("n")
        )
        return self.annotate(
            led_count=Coalesce(models.Subquery(led, output_field=models.IntegerField()), 0),
            partnered_count=Coalesce(
                models.Subquery(partnered, output_field=models.IntegerField()), 0
            ),
        )


def display_name(name, unnamed):
    """The name, or for a body its source does not name, what the source calls it."""
    if unnamed:
        return f"{name[:1].upper()}{name[1:]}, not named in the source"
    return name


class Organisation(models.Model):
    Kind = OrganisationKind

    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True)
    kind = models.CharField(max_length=32, choices=Kind)
    country = CountryField(blank=True)
    website = models.URLField(blank=True)
    unnamed = models.BooleanField(
        "not named in the source",
        default=False,
        help_text=(
            "The source describes this body without naming it. Put how it describes it in "
            "Name (“A city”, “A government agency”): it is shown as "
            "“A city, not named in the source”."
        ),
    )

    objects = SlugManager.from_queryset(OrganisationQuerySet)()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=OrganisationKind.values),
                name="organisation_kind_valid",
            ),
        ]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("organisation-detail", kwargs={"slug": self.slug})

    @property
    def display_name(self):
        return display_name(self.name, self.unnamed)

    def natural_key(self):
        return (self.slug,)
