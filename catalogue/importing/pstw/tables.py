"""The value tables of the PSTW import: columns, vocabularies and the codes the data uses.

Keys are compared after `reading.key()`: whitespace collapsed, case folded.
"""

import re

from django.core.validators import URLValidator

from catalogue.models import (
    CollaborationType,
    Funding,
    Initiative,
    Organisation,
    OrganisationKind,
    Place,
    Source,
    Stage,
)

DATASET = "EU Public Sector Tech Watch"
DATASET_PUBLISHER = "European Commission, Joint Research Centre"
DATASET_URL = "https://doi.org/10.2905/JRC.J1MWC9R"
DATASET_LICENCE = "CC BY 4.0"
# The publisher of every source the importer takes from a row (links and references PSTW
# cites): how a re-import tells its own sources from those an editor added.
CITED_VIA = "via EU Public Sector Tech Watch"

# Our name for each column the importer reads -> its header (headers are matched after
# stripping, so " Status" is found). All are required: a snapshot without one of them would
# blank that field on every record.
COLUMNS = {
    "pstw_id": "PSTW ID",
    "name": "Name",
    "website": "Website",
    "description": "Description",
    "country": "Geographical coverage (country)",
    "nuts": "NUTS 2021",
    "organisation": "Responsible organisation",
    "category": "Responsible organisation category",
    "cofog": "Functions of Government (COFOG level I)",
    "status": "Status",
    "start_year": "Start Year",
    "end_year": "End Year",
    "technology": "Primary Technology",
    "secondary_technology": "Secondary Technology",
    "source": "Source",
    "collaboration": "Collaboration type",
    "funding": "Funding source",
    "updated": "Date updated",
}

# Impact flags ("x" when the case claims the impact) -> outcome slug.
OUTCOME_COLUMNS = {
    "Improved Public Service": "service-quality",
    "Personalized Services": "service-quality",
    "Public (citizen)-centered services": "service-quality",
    "Increase quality of PSI and services": "service-quality",
    "New services or channels": "service-quality",
    "Increased quality of processes and systems": "service-quality",
    "More responsive, efficient, and cost-effective public services": "faster-services",
    "Improved Administrative Efficiency": "faster-services",
    "Responsiveness of government operation": "faster-services",
    "Cost-reduction": "cost-savings",
    "Improved management of public resources": "cost-savings",
    "Reduced or eliminated the risk of corruption and abuse of the law by public servants": (
        "transparency-trust"
    ),
    "Enabled greater fairness, honesty, equality": "transparency-trust",
    "Open government capabilities": "transparency-trust",
    "Increased transparency of public sector operations": "transparency-trust",
    "Increased public participation in government actions and policy making": "participation",
    "Improved public control and influence on government actions and policies": "participation",
    "Better collaboration and better communication": "collaboration",
}
FLAG_SET = {"x", "yes", "y", "true", "1"}
FLAG_UNSET = {"", "no", "n", "false", "0"}

# Vocabulary terms created on first use: slug -> (name, description).
NEW_OUTCOMES = {
    "collaboration": (
        "Collaboration and communication",
        "Better collaboration and communication within government and with its partners.",
    ),
}
NEW_THEMES = {
    "blockchain": ("Blockchain", "Distributed ledgers for records, transactions and identity."),
    "extended-reality": (
        "Extended reality (AR/VR)",
        "Augmented and virtual reality for training, planning and services.",
    ),
    "digital-twins": ("Digital twins", "Live virtual models of places, assets or processes."),
    "quantum-computing": ("Quantum computing", "Quantum computers and quantum-safe methods."),
    "5g-edge-computing": (
        "5G and edge computing",
        "Fast mobile networks and computing close to where data is collected.",
    ),
    "virtual-worlds": ("Virtual worlds", "Shared immersive online spaces, such as metaverses."),
}
# Primary or secondary technology -> theme slugs. Every case adopts an emerging technology.
TECHNOLOGY_THEMES = {
    "artificial intelligence": ["ai-automation"],
    "blockchain": ["blockchain", "emerging-tech"],
    "ar/vr": ["extended-reality", "emerging-tech"],
    "digital twins": ["digital-twins", "emerging-tech"],
    "quantum computing": ["quantum-computing", "emerging-tech"],
    "5g (edge computing)": ["5g-edge-computing", "emerging-tech"],
    "virtual worlds": ["virtual-worlds", "emerging-tech"],
    "other": ["emerging-tech"],
}
UNKNOWN_TECHNOLOGY_THEMES = ["emerging-tech"]
# Every PSTW case adopts an emerging technology (the dataset's inclusion rule).
DRIVERS = ["technology"]

# Category, with hyphens read as spaces -> organisation kind.
ORGANISATION_KINDS = {
    "central government": OrganisationKind.CENTRAL_GOVERNMENT,
    "local government": OrganisationKind.LOCAL_AUTHORITY,
    "regional government": OrganisationKind.REGIONAL_GOVERNMENT,
    "academic research": OrganisationKind.UNIVERSITY,
    "consortium": OrganisationKind.CONSORTIUM,
    "private sector": OrganisationKind.PRIVATE_COMPANY,
    "european institution/agency": OrganisationKind.INTERNATIONAL_BODY,
    "non governmental": OrganisationKind.NON_PROFIT,
    "community led": OrganisationKind.NON_PROFIT,
    "state owned entreprise": OrganisationKind.PUBLIC_CORPORATION,
    "state owned enterprise": OrganisationKind.PUBLIC_CORPORATION,
}
# A new organisation whose category is blank or unknown; the warning asks an editor to check.
FALLBACK_KIND = OrganisationKind.OTHER

STAGES = {
    "planned": Stage.IDEA,
    "in development": Stage.IDEA,
    "pilot": Stage.PILOT,
    "implemented": Stage.IMPLEMENTED,
    "not in use": Stage.DISCONTINUED,
}

# Matched after dropping a parenthesis: "Consortium (research institutions, ...)".
COLLABORATION_TYPES = {
    "fully internal": CollaborationType.INTERNAL,
    "other pas": CollaborationType.OTHER_PUBLIC_BODIES,
    "private corporation": CollaborationType.PRIVATE_COMPANY,
    "govtech": CollaborationType.GOVTECH,
    "universities/research organisations": CollaborationType.RESEARCH,
    "universities": CollaborationType.RESEARCH,
    "consortium": CollaborationType.CONSORTIUM,
    "open innovation/challenges": CollaborationType.OPEN_INNOVATION,
    "sandboxing": CollaborationType.SANDBOX,
}

FUNDING = {
    "funded with own resources": Funding.OWN_RESOURCES,
    "local-funded project": Funding.LOCAL,
    "regional-funded project": Funding.REGIONAL,
    "national-funded project": Funding.NATIONAL,
    "eu-funded project": Funding.EU,
}

# Country names django-countries does not know, or knows by another name.
COUNTRY_ALIASES = {
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "european union": "EU",
    "eu": "EU",
    "türkiye": "TR",
    "turkiye": "TR",
    "turkey": "TR",
    "czechia": "CZ",
    "czech republic": "CZ",
    "vatican city": "VA",
    "holy see": "VA",
    "monte carlo": "MC",
    "monaco": "MC",
    "moldova": "MD",
    "republic of moldova": "MD",
    "north macedonia": "MK",
    "the netherlands": "NL",
}
# Where a case covers no one country.
NOT_A_COUNTRY = {"EU"}

# NUTS country prefixes that are not ISO 3166 codes.
NUTS_TO_ISO = {"EL": "GR", "UK": "GB"}
# Codes in the NUTS column that are a country written another way: country level.
NUTS_COUNTRY_ALIASES = {"UE": "EU", "ALB": "AL", "SRB": "RS", "GR": "EL"}
# "Not defined".
NUTS_BLANK = {"ND", "N/A", "-"}
# The UK's NUTS 1 regions -> the ITL1 regions of Place.
UK_REGIONS = {
    "UKC": Place.Region.NORTH_EAST,
    "UKD": Place.Region.NORTH_WEST,
    "UKE": Place.Region.YORKSHIRE,
    "UKF": Place.Region.EAST_MIDLANDS,
    "UKG": Place.Region.WEST_MIDLANDS,
    "UKH": Place.Region.EAST,
    "UKI": Place.Region.LONDON,
    "UKJ": Place.Region.SOUTH_EAST,
    "UKK": Place.Region.SOUTH_WEST,
    "UKL": Place.Region.WALES,
    "UKM": Place.Region.SCOTLAND,
    "UKN": Place.Region.NORTHERN_IRELAND,
}

# --------------------------------------------------------------------------------------------

SUMMARY_LENGTH = Initiative._meta.get_field("summary").max_length
TITLE_LENGTH = Initiative._meta.get_field("title").max_length
ORGANISATION_LENGTH = Organisation._meta.get_field("name").max_length
SOURCE_TITLE_LENGTH = Source._meta.get_field("title").max_length
URL_LENGTH = Initiative._meta.get_field("website").max_length
NUTS_LENGTH = Initiative._meta.get_field("nuts_code").max_length
SLUG_LENGTH = 200
PROGRESS_EVERY = 25
# The longest value a row may have: csv's own default limit. The real case list's longest
# is under 4,000 characters; one of megabytes is a broken export, not a description.
VALUE_LENGTH = 131_072

# ASCII only: int() reads any script's digits ("٩١٠١" is 9101), so another script's ID would
# become, and collide with, a real one. IGNORECASE alone would also take U+017F (long s) for S.
PSTW_ID = re.compile(r"(?:PSTW\s*-?\s*)?([0-9]{1,10})", re.IGNORECASE | re.ASCII)
# A line inside a value that starts as a row does: the row after a quote left open, read into
# it. (None of the real case list's 228 values with line breaks has one.)
ROW_START = re.compile(r"[\r\n]\s*PSTW\s*-?\s*[0-9]+\s*,", re.IGNORECASE | re.ASCII)
URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
# The export replaced "PoC" by "Proof of Concept" everywhere, URLs included, leaving URLs
# with spaces in them: https://qualichain-project.eu/Proof of Concepts/supporting-...
BROKEN_URL = re.compile(r"https?://\S*Proof of Concept\S*", re.IGNORECASE)
# Where the first body named in a list of bodies, or a paragraph about one, ends.
FIRST_BODY_ENDS = re.compile(r",\s|;\s|\s/\s|\s[-\u2013\u2014]\s|\s(?:is|are|was)\s|\.\s")
validate_url = URLValidator(schemes=["http", "https"])
