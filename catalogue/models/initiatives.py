"""Initiatives, the catalogue's records, and the organisations' parts in them."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Prefetch, Q
from django.urls import reverse

from catalogue.models.base import MAX_YEAR, MIN_YEAR, now_to_the_second
from catalogue.models.organisations import Organisation
from catalogue.models.vocabularies import Barrier, Driver, Outcome, Place, Sector, Theme

# Large columns a list never shows.
LISTING_DEFERRED = ["search_vector", "challenge", "approach", "results", "lessons"]


class InitiativeQuerySet(models.QuerySet):
    def published(self):
        """The only records that are ever public."""
        return self.filter(status=Initiative.Status.PUBLISHED)

    def with_listing(self):
        """What a result in a list, a feed or the API shows: lead organisation, sector,
        themes, places, and its headline metric (the first one recorded) as `headline_*`
        columns."""
        return self.with_summary().select_related("sector").prefetch_related("themes")

    def with_summary(self):
        """What a result on the list or the home page shows (includes/initiative_summary.html):
        lead organisation, places and headline metric."""
        from catalogue.models.evidence import Metric  # defined after Initiative, which it cites

        first_metric = Metric.objects.filter(initiative=models.OuterRef("pk")).order_by("pk")
        headline = {
            f"headline_{column}": models.Subquery(first_metric.values(column)[:1])
            for column in ("label", "value", "unit", "direction")
        }
        return (
            self.select_related("lead_organisation")
            .prefetch_related("places")
            .defer(*LISTING_DEFERRED)
            .annotate(**headline)
        )

    def with_roles_of(self, organisation):
        """Each with `roles_of_organisation`: the organisation's partnerships in it."""
        return self.prefetch_related(
            Prefetch(
                "partnerships",
                queryset=Partnership.objects.filter(organisation=organisation),
                to_attr="roles_of_organisation",
            )
        )

    def with_detail(self):
        """Everything the case-study page shows, in a fixed number of queries."""
        from catalogue.models.evidence import Metric, Source  # defined after Initiative

        return self.select_related("lead_organisation", "sector").prefetch_related(
            "drivers",
            "themes",
            "outcomes",
            "barriers",
            "places",
            Prefetch(
                "partnerships",
                queryset=Partnership.objects.select_related("organisation"),
            ),
            Prefetch("metrics", queryset=Metric.objects.select_related("quote")),
            Prefetch("sources", queryset=Source.objects.prefetch_related("quotes")),
        )

    def related_to(self, initiative, limit=3, candidates=200):
        """Published initiatives sharing the most themes with this one, newest first.

        Candidates are the newest few hundred sharing any theme, found on the link table's
        index alone, so the cost does not grow with the catalogue.
        """
        theme_ids = [theme.pk for theme in initiative.themes.all()]
        links = Initiative.themes.through.objects.filter(theme__in=theme_ids).exclude(
            initiative=initiative.pk
        )
        newest = links.order_by("-initiative").values("initiative")[:candidates]
        return (
            self.published()
            .filter(pk__in=newest)
            .annotate(shared=models.Count("themes", filter=Q(themes__in=theme_ids)))
            .select_related("lead_organisation")
            .order_by("-shared", "-published_at", "pk")[:limit]
        )

    def involving(self, organisation):
        """Initiatives an organisation leads or partners in."""
        return self.filter(
            Q(lead_organisation=organisation)
            | Q(pk__in=Partnership.objects.filter(organisation=organisation).values("initiative"))
        )


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in-review", "In review"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Stage(models.TextChoices):
    IDEA = "idea", "Idea"
    PILOT = "pilot", "Pilot"
    IMPLEMENTED = "implemented", "Implemented"
    SCALED = "scaled", "Scaled"
    DISCONTINUED = "discontinued", "Discontinued"


class CollaborationType(models.TextChoices):
    # Public Sector Tech Watch's vocabulary for who the public body worked with.
    INTERNAL = "internal", "Fully internal"
    OTHER_PUBLIC_BODIES = "other-public-bodies", "Other public bodies"
    PRIVATE_COMPANY = "private-company", "Private company"
    GOVTECH = "govtech", "GovTech"
    RESEARCH = "research", "Universities and research organisations"
    CONSORTIUM = "consortium", "Consortium"
    OPEN_INNOVATION = "open-innovation", "Open innovation or challenge"
    SANDBOX = "sandbox", "Regulatory or technical sandbox"


class Funding(models.TextChoices):
    OWN_RESOURCES = "own-resources", "Own resources"
    LOCAL = "local", "Local funding"
    REGIONAL = "regional", "Regional funding"
    NATIONAL = "national", "National funding"
    EU = "eu", "EU funding"


class Initiative(models.Model):
    Status = Status
    Stage = Stage
    CollaborationType = CollaborationType
    Funding = Funding

    class InnovationType(models.TextChoices):
        # The OECD Observatory of Public Sector Innovation's four facets.
        ENHANCEMENT = "enhancement", "Enhancement-oriented"
        MISSION = "mission", "Mission-oriented"
        ADAPTIVE = "adaptive", "Adaptive"
        ANTICIPATORY = "anticipatory", "Anticipatory"

    class EvidenceLevel(models.IntegerChoices):
        # After Nesta's Standards of Evidence.
        DESCRIBED = 1, "1: described"
        DATA = 2, "2: data on effects"
        CAUSAL = 3, "3: causal impact shown"
        INDEPENDENT = 4, "4: independently replicated"
        SCALED = 5, "5: replicated at scale"

    title = models.CharField(max_length=255)
    slug = models.SlugField(
        max_length=255, unique=True, help_text="The permalink. Do not change once published."
    )
    summary = models.TextField(
        max_length=600, help_text="One or two sentences, shown in lists and search results."
    )
    challenge = models.TextField(blank=True, help_text="Markdown.")
    approach = models.TextField(blank=True, help_text="Markdown.")
    results = models.TextField(blank=True, help_text="Markdown.")
    lessons = models.TextField(blank=True, help_text="Markdown. Include what did not work.")

    lead_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="led_initiatives"
    )
    partners = models.ManyToManyField(
        Organisation, through="Partnership", related_name="partnered_initiatives", blank=True
    )
    drivers = models.ManyToManyField(Driver, related_name="initiatives", blank=True)
    themes = models.ManyToManyField(Theme, related_name="initiatives", blank=True)
    outcomes = models.ManyToManyField(Outcome, related_name="initiatives", blank=True)
    barriers = models.ManyToManyField(Barrier, related_name="initiatives", blank=True)
    sector = models.ForeignKey(
        Sector, on_delete=models.PROTECT, related_name="initiatives", null=True, blank=True
    )
    places = models.ManyToManyField(Place, related_name="initiatives", blank=True)

    innovation_type = models.CharField(max_length=16, choices=InnovationType, blank=True)
    # Blank: the sources do not say. Never guessed.
    stage = models.CharField(max_length=16, choices=Stage, blank=True, default="")
    start_year = models.PositiveSmallIntegerField(null=True, blank=True)
    end_year = models.PositiveSmallIntegerField(null=True, blank=True)
    website = models.URLField(max_length=1000, blank=True)
    nuts_code = models.CharField(
        "NUTS code",
        max_length=8,
        blank=True,
        help_text="NUTS 2021 code of the area covered, when narrower than a country.",
    )
    collaboration_type = models.CharField(max_length=32, choices=CollaborationType, blank=True)
    funding = models.CharField(max_length=16, choices=Funding, blank=True)
    pstw_id = models.CharField(
        "PSTW ID",
        max_length=16,
        blank=True,
        help_text="The case's ID in EU Public Sector Tech Watch, when imported from it.",
    )
    evidence_level = models.PositiveSmallIntegerField(
        choices=EvidenceLevel, default=EvidenceLevel.DESCRIBED
    )

    # PostgreSQL only: kept current by database triggers (migration 0002), never by Python,
    # so admin edits, imports, bulk inserts and organisation renames all reach it.
    search_vector = SearchVectorField(null=True, editable=False)

    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=now_to_the_second, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = InitiativeQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "title"]
        permissions = [("publish_initiative", "Can publish, unpublish and archive initiatives")]
        constraints = [
            models.UniqueConstraint(
                fields=["pstw_id"],
                condition=~Q(pstw_id=""),
                name="initiative_unique_pstw_id",
                violation_error_message="Another initiative already has this PSTW ID.",
            ),
            models.CheckConstraint(
                condition=Q(collaboration_type="")
                | Q(collaboration_type__in=CollaborationType.values),
                name="initiative_collaboration_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(funding="") | Q(funding__in=Funding.values),
                name="initiative_funding_valid",
            ),
            models.CheckConstraint(
                condition=Q(start_year__isnull=True)
                | Q(start_year__gte=MIN_YEAR, start_year__lte=MAX_YEAR),
                name="initiative_start_year_sane",
                violation_error_message=(
                    f"The start year must be between {MIN_YEAR} and {MAX_YEAR}."
                ),
            ),
            models.CheckConstraint(
                condition=Q(end_year__isnull=True)
                | Q(end_year__gte=MIN_YEAR, end_year__lte=MAX_YEAR),
                name="initiative_end_year_sane",
                violation_error_message=(
                    f"The end year must be between {MIN_YEAR} and {MAX_YEAR}."
                ),
            ),
            models.CheckConstraint(
                condition=Q(start_year__isnull=True)
                | Q(end_year__isnull=True)
                | Q(end_year__gte=models.F("start_year")),
                name="initiative_end_after_start",
                violation_error_message="The end year cannot be before the start year.",
            ),
            models.CheckConstraint(
                condition=Q(evidence_level__gte=1, evidence_level__lte=5),
                name="initiative_evidence_level_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values),
                name="initiative_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(stage="") | Q(stage__in=Stage.values),
                name="initiative_stage_valid",
            ),
            # A published record always knows when it was first published.
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="initiative_published_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="initiative_status_pub_idx"),
            models.Index(fields=["start_year"], name="initiative_start_year_idx"),
            # The sitemap's newest date of the published records, without reading them all.
            models.Index(fields=["status", "updated_at"], name="initiative_status_upd_idx"),
            # Narrow copy of what facets filter and count by: the id sets and the sector,
            # stage and kind counts read it with index-only scans instead of the wide rows.
            models.Index(
                fields=["status", "id"],
                include=["sector", "stage", "lead_organisation", "start_year"],
                name="initiative_facets_idx",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = now_to_the_second()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("initiative-detail", kwargs={"slug": self.slug})

    @property
    def headline_metric(self):
        """The first metric as a headline ("Administrative costs", a minus sign, "25%"), from
        with_listing()'s columns; '' if there is none."""
        from catalogue.models.evidence import Metric  # defined after Initiative

        label = getattr(self, "headline_label", None)
        if label is None:
            return ""
        metric = Metric(
            label=label,
            value=self.headline_value,
            unit=self.headline_unit,
            direction=self.headline_direction,
        )
        return metric.headline

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    @property
    def years(self):
        return years_text(self.start_year, self.end_year)


def years_text(start_year, end_year):
    """'2019', '2019 to 2022' or '2019 onwards'; '' without a start."""
    if not start_year:
        return ""
    if end_year and end_year != start_year:
        return f"{start_year} to {end_year}"
    if end_year:
        return str(start_year)
    return f"{start_year} onwards"


class PartnerRole(models.TextChoices):
    DELIVERY_PARTNER = "delivery-partner", "Delivery partner"
    TECHNOLOGY_SUPPLIER = "technology-supplier", "Technology supplier"
    FUNDER = "funder", "Funder"
    ACADEMIC_PARTNER = "academic-partner", "Academic partner"
    NETWORK = "network", "Network or convenor"
    COMMISSIONER = "commissioner", "Commissioner"
    CONSULTANCY = "consultancy", "Consultancy"
    OTHER = "other", "Other"


class Partnership(models.Model):
    Role = PartnerRole

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="partnerships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="partnerships"
    )
    role = models.CharField(max_length=32, choices=Role)
    description = models.CharField(
        max_length=255, blank=True, help_text="What this partner did, in a few words."
    )

    class Meta:
        ordering = ["initiative", "role", "organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "organisation", "role"], name="partnership_unique_role"
            ),
            models.CheckConstraint(
                condition=Q(role__in=PartnerRole.values), name="partnership_role_valid"
            ),
        ]

    def __str__(self):
        return f"{self.organisation} ({self.get_role_display()}) in {self.initiative}"

    def get_absolute_url(self):
        return self.initiative.get_absolute_url()
