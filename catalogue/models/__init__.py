"""The catalogue's models, one module per kind of record. Every public name is here too, as
it was when this was one module (migrations import catalogue.models.now_to_the_second)."""

# isort: off
# In the order the models were always defined, which the app registry, and so dumps and
# content types, follow.
from catalogue.models.base import MAX_YEAR, MIN_YEAR, SlugManager, now_to_the_second
from catalogue.models.vocabularies import (
    Barrier,
    Driver,
    Outcome,
    Place,
    Sector,
    Taxonomy,
    Theme,
)
from catalogue.models.organisations import Organisation, OrganisationKind, OrganisationQuerySet
from catalogue.models.initiatives import (
    LISTING_DEFERRED,
    CollaborationType,
    Funding,
    Initiative,
    InitiativeQuerySet,
    PartnerRole,
    Partnership,
    Stage,
    Status,
)
from catalogue.models.evidence import Direction, Metric, Quote, Source
from catalogue.models.history import CatalogueVersion, HistoryAction, HistoryEntry
from catalogue.models.proposals import Proposal

# isort: on

__all__ = [
    "LISTING_DEFERRED",
    "MAX_YEAR",
    "MIN_YEAR",
    "Barrier",
    "CatalogueVersion",
    "CollaborationType",
    "Direction",
    "Driver",
    "Funding",
    "HistoryAction",
    "HistoryEntry",
    "Initiative",
    "InitiativeQuerySet",
    "Metric",
    "Organisation",
    "OrganisationKind",
    "OrganisationQuerySet",
    "Outcome",
    "PartnerRole",
    "Partnership",
    "Place",
    "Proposal",
    "Quote",
    "Sector",
    "SlugManager",
    "Source",
    "Stage",
    "Status",
    "Taxonomy",
    "Theme",
    "now_to_the_second",
]
