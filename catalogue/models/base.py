"""What the catalogue's models share: year bounds, record dates and natural keys."""

from django.db import models
from django.utils import timezone

MIN_YEAR = 1950
MAX_YEAR = 2100


def now_to_the_second():
    """Record dates are for people: whole seconds survive every export and restore."""
    return timezone.now().replace(microsecond=0)


class SlugManager(models.Manager):
    """Lets fixtures and imports refer to reference data by slug."""

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)
