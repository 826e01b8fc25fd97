"""The editors' admin. Importing the modules registers their ModelAdmins."""

from django.contrib import admin

from catalogue.admin.citing import (
    CitingForm,
    CitingFormSet,
    CitingInline,
    MetricForm,
    MetricFormSet,
    MetricInline,
    QuoteForm,
    QuoteFormSet,
    QuoteInline,
    SourceFormSet,
    SourceInline,
)
from catalogue.admin.hostile import HostileQueryMixin, SafeChangeList, has_nul
from catalogue.admin.initiative_history import InitiativeHistoryMixin
from catalogue.admin.initiatives import (
    InitiativeAdmin,
    InitiativeForm,
    PartnershipInline,
    WorkflowState,
)
from catalogue.admin.organisations import OrganisationAdmin, OrganisationForm
from catalogue.admin.proposing import ProposalAdmin, ProposingAdmin
from catalogue.admin.staff import StaffCreationForm, StaffUserAdmin
from catalogue.admin.vocabularies import PlaceAdmin, SectorAdmin, TaxonomyAdmin

admin.site.site_header = "Case-study catalogue: editors"
admin.site.site_title = "Catalogue admin"
admin.site.index_title = "Catalogue"

__all__ = [
    "CitingForm",
    "CitingFormSet",
    "CitingInline",
    "HostileQueryMixin",
    "InitiativeAdmin",
    "InitiativeForm",
    "InitiativeHistoryMixin",
    "MetricForm",
    "MetricFormSet",
    "MetricInline",
    "OrganisationAdmin",
    "OrganisationForm",
    "PartnershipInline",
    "PlaceAdmin",
    "ProposalAdmin",
    "ProposingAdmin",
    "QuoteForm",
    "QuoteFormSet",
    "QuoteInline",
    "SafeChangeList",
    "SectorAdmin",
    "SourceFormSet",
    "SourceInline",
    "StaffCreationForm",
    "StaffUserAdmin",
    "TaxonomyAdmin",
    "WorkflowState",
    "has_nul",
]
