from decimal import Decimal

import reversion
from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Prefetch, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_countries.fields import CountryField

MIN_YEAR = 1950
MAX_YEAR = 2100


def now_to_the_second():
    """Record dates are for people: whole seconds survive every export and restore."""
    return timezone.now().replace(microsecond=0)


class SlugManager(models.Manager):
    """Lets fixtures and imports refer to reference data by slug."""

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Taxonomy(models.Model):
    """A term of one of the editable vocabularies the catalogue is sliced by."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    # The query-string parameter of the initiative list that filters by this vocabulary.
    # Each subclass is a vocabulary (catalogue/vocabularies.py), shown in the order they
    # are declared here.
    filter_param = ""

    objects = SlugManager()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("initiative-list") + "?" + urlencode({self.filter_param: self.slug})

    def natural_key(self):
        return (self.slug,)


class Theme(Taxonomy):
    """What an initiative used or did."""

    filter_param = "theme"


class Driver(Taxonomy):
    """Why an initiative happened."""

    filter_param = "driver"


class Outcome(Taxonomy):
    """What changed as a result."""

    filter_param = "outcome"


class Barrier(Taxonomy):
    """What got in the way."""

    filter_param = "barrier"


class Sector(Taxonomy):
    """Policy area, mapped from COFOG level I."""

    cofog_code = models.CharField(
        "COFOG code", max_length=2, blank=True, help_text="COFOG level I division, e.g. 07."
    )
    filter_param = "sector"


class Place(models.Model):
    """A country, optionally narrowed to a UK nation or ITL1 region."""

    class Region(models.TextChoices):
        ENGLAND = "ENG", "England"
        NORTH_EAST = "TLC", "North East (England)"
        NORTH_WEST = "TLD", "North West (England)"
        YORKSHIRE = "TLE", "Yorkshire and The Humber"
        EAST_MIDLANDS = "TLF", "East Midlands (England)"
        WEST_MIDLANDS = "TLG", "West Midlands (England)"
        EAST = "TLH", "East of England"
        LONDON = "TLI", "London"
        SOUTH_EAST = "TLJ", "South East (England)"
        SOUTH_WEST = "TLK", "South West (England)"
        WALES = "TLL", "Wales"
        SCOTLAND = "TLM", "Scotland"
        NORTHERN_IRELAND = "TLN", "Northern Ireland"

    country = CountryField()
    region = models.CharField(
        max_length=3,
        choices=Region,
        blank=True,
        help_text="UK only: the nation or ITL1 region. Leave blank for the whole country.",
    )

    class Meta:
        ordering = ["country", "region"]
        constraints = [
            models.UniqueConstraint(fields=["country", "region"], name="place_unique"),
            models.CheckConstraint(
                condition=Q(region="") | Q(country="GB"),
                name="place_region_only_in_uk",
                violation_error_message="Regions can only be given for the United Kingdom.",
            ),
        ]

    def __str__(self):
        if self.region:
            return f"{self.get_region_display()}, {self.country.name}"
        return str(self.country.name)

    def get_absolute_url(self):
        return reverse("initiative-list") + "?" + urlencode({"country": self.country.code})


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

        Two EXISTS, each an index probe per organisation: `pk IN (subquery) OR pk IN (...)`
        can only be hashed while the published ids fit in work_mem; past that PostgreSQL
        rescans them for every organisation (80 s for the sitemap at 300,000 initiatives).
        """
        published = Initiative.Status.PUBLISHED
        return self.filter(
            models.Exists(
                Initiative.objects.filter(status=published, lead_organisation=models.OuterRef("pk"))
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
        published = Initiative.Status.PUBLISHED
        led = (
            Initiative.objects.filter(status=published, lead_organisation=models.OuterRef("pk"))
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
        """The name, or for a body its source does not name, what the source calls it."""
        if self.unnamed:
            return f"{self.name[:1].upper()}{self.name[1:]}, not named in the source"
        return self.name

    def natural_key(self):
        return (self.slug,)


# Large columns a list never shows.
LISTING_DEFERRED = ["search_vector", "challenge", "approach", "results", "lessons"]


class InitiativeQuerySet(models.QuerySet):
    def published(self):
        """The only records that are ever public."""
        return self.filter(status=Initiative.Status.PUBLISHED)

    def with_listing(self):
        """What a result in a list shows: lead organisation, sector, themes, places, and
        its headline metric (the first one recorded) as `headline_*` columns."""
        first_metric = Metric.objects.filter(initiative=models.OuterRef("pk")).order_by("pk")
        headline = {
            f"headline_{column}": models.Subquery(first_metric.values(column)[:1])
            for column in ("label", "value", "unit", "direction")
        }
        return (
            self.select_related("lead_organisation", "sector")
            .prefetch_related("themes", "places")
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
        """'2019', '2019 to 2022' or '2019 onwards'."""
        if not self.start_year:
            return ""
        if self.end_year and self.end_year != self.start_year:
            return f"{self.start_year} to {self.end_year}"
        if self.end_year:
            return str(self.start_year)
        return f"{self.start_year} onwards"


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


class Source(models.Model):
    """A citation backing an initiative's facts."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="sources")
    title = models.CharField(max_length=500)
    publisher = models.CharField(max_length=255, blank=True)
    author = models.CharField(max_length=255, blank=True)
    url = models.URLField("URL", max_length=1000, blank=True)
    published_on = models.DateField(null=True, blank=True)
    accessed_on = models.DateField(null=True, blank=True)
    copy_file = models.CharField(
        "archived copy",
        max_length=255,
        blank=True,
        help_text=(
            "File name of the stored copy of the source its quotes were checked against, "
            "e.g. a seed article in ../shared/seeds/."
        ),
    )

    class Meta:
        ordering = ["initiative", "published_on", "pk"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return self.initiative.get_absolute_url()


class Quote(models.Model):
    """A passage of a source, word for word, that supports the record: where its facts
    come from. A metric cites the passage its figure is in."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="quotes")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="quotes")
    text = models.TextField("passage", help_text="Word for word, as the source has it.")
    locator = models.CharField(
        max_length=255,
        blank=True,
        help_text="Where in the source: a section, page or paragraph, when it has them.",
    )

    class Meta:
        ordering = ["initiative", "pk"]

    def __str__(self):
        text = " ".join(self.text.split())
        return f"“{text[:80]}…”" if len(text) > 80 else f"“{text}”"

    def get_absolute_url(self):
        return self.initiative.get_absolute_url() + f"#quote-{self.pk}"


class Direction(models.TextChoices):
    INCREASE = "increase", "Increase"
    DECREASE = "decrease", "Decrease"
    NO_CHANGE = "no-change", "No change"


class Metric(models.Model):
    """A measured result, e.g. 'administrative costs, down 25%'."""

    Direction = Direction

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="metrics")
    label = models.CharField(max_length=255, help_text="What was measured.")
    value = models.DecimalField(max_digits=14, decimal_places=2)
    unit = models.CharField(max_length=32, blank=True, help_text="For example %, £, hours.")
    direction = models.CharField(max_length=16, choices=Direction)
    baseline = models.CharField(max_length=255, blank=True, help_text="Compared with what.")
    period = models.CharField(max_length=100, blank=True, help_text="Over what time.")
    source = models.ForeignKey(
        Source, on_delete=models.SET_NULL, null=True, blank=True, related_name="metrics"
    )
    quote = models.ForeignKey(
        Quote,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="metrics",
        verbose_name="passage",
        help_text="The passage of its source the figure comes from.",
    )

    class Meta:
        ordering = ["initiative", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values),
                name="metric_direction_valid",
            ),
        ]

    def __str__(self):
        return f"{self.label}: {self.display_value}"

    def get_absolute_url(self):
        return self.initiative.get_absolute_url()

    @property
    def amount(self):
        """The figure with its unit, without trailing zeros: '25%', '£1.2', '3 hours'."""
        number = f"{Decimal(self.value).normalize():f}"
        if self.unit in {"%", "pp"}:
            return f"{number}{self.unit}"
        if self.unit in {"£", "€", "$"}:
            return f"{self.unit}{number}"
        return f"{number} {self.unit}".strip()

    @property
    def headline(self):
        """Label and signed figure: "Visits +40%", or a minus sign (U+2212) for a decrease."""
        sign = {self.Direction.DECREASE: "\u2212", self.Direction.INCREASE: "+"}.get(self.direction)
        if sign is None:
            return f"{self.label}: {self.amount}, no change"
        return f"{self.label} {sign}{self.amount}"

    @property
    def display_value(self):
        """'25% decrease', '£1.2m'... shown without trailing zeros."""
        if self.direction == self.Direction.NO_CHANGE:
            return f"{self.amount}, no change"
        return f"{self.amount} {self.get_direction_display().lower()}"


class CatalogueVersion(models.Model):
    """One row whose number changes whenever anything a list page shows changes.

    On PostgreSQL, statement-level triggers (migration 0003) bump it on every write to the
    initiatives, their links, partnerships, organisations, places and taxonomies, however
    the write was made. Cached facet counts are keyed by it.
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
