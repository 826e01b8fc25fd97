"""The vocabularies an initiative is tagged with, and the places it happened in."""

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.http import urlencode
from django_countries.fields import CountryField

from catalogue.models.base import SlugManager


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
