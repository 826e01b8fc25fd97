"""What an initiative's facts rest on: its sources, the passages quoted from them, and
the measured results they report."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from catalogue.models.initiatives import Initiative


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


def amount_text(value, unit):
    """The figure with its unit, without trailing zeros: '25%', '£1.2', '3 hours'."""
    number = f"{Decimal(value).normalize():f}"
    if unit in {"%", "pp"}:
        return f"{number}{unit}"
    if unit in {"£", "€", "$"}:
        return f"{unit}{number}"
    return f"{number} {unit}".strip()


def headline_text(label, value, unit, direction):
    """Label and signed figure: "Visits +40%", or a minus sign (U+2212) for a decrease."""
    sign = {Direction.DECREASE: "\u2212", Direction.INCREASE: "+"}.get(direction)
    if sign is None:
        return f"{label}: {amount_text(value, unit)}, no change"
    return f"{label} {sign}{amount_text(value, unit)}"


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
        return amount_text(self.value, self.unit)

    @property
    def headline(self):
        return headline_text(self.label, self.value, self.unit, self.direction)

    @property
    def display_value(self):
        """'25% decrease', '£1.2m'... shown without trailing zeros."""
        if self.direction == self.Direction.NO_CHANGE:
            return f"{self.amount}, no change"
        return f"{self.amount} {self.get_direction_display().lower()}"
