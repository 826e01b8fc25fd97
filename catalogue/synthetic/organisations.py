"""The organisations of the synthetic catalogue: how many of each kind, how they are named,
and the roles they play as partners; and where the UK's records are."""

from catalogue.models import Organisation, Partnership
from catalogue.synthetic.draws import weighted

Kind = Organisation.Kind
Role = Partnership.Role

# kind: (share of the pool, weight as a lead, weight as a partner, name patterns).
ORGANISATION_KINDS = {
    Kind.LOCAL_AUTHORITY: (
        38,
        5,
        1.5,
        [
            "{locality} County Council",
            "{locality} City Council",
            "{locality} Borough Council",
            "{locality} District Council",
            "{locality} Council",
            "London Borough of {locality}",
            "{locality} Metropolitan Borough Council",
        ],
    ),
    Kind.CENTRAL_GOVERNMENT: (
        6,
        4,
        1.5,
        [
            "Department for {portfolio}",
            "Ministry of {portfolio}",
            "Office for {portfolio}",
            "{portfolio} Digital Service",
        ],
    ),
    Kind.ARMS_LENGTH_BODY: (
        8,
        3,
        1.5,
        [
            "National {topic} Agency",
            "{topic} Standards Authority",
            "{topic} Commission",
            "{topic} Improvement Agency",
            "{locality} Development Corporation",
        ],
    ),
    Kind.COMBINED_AUTHORITY: (
        3,
        4,
        1,
        [
            "{locality} Combined Authority",
            "Greater {locality} Combined Authority",
            "{locality} and {other_locality} Combined Authority",
        ],
    ),
    Kind.NHS_BODY: (
        9,
        4,
        1.5,
        [
            "NHS {locality} Integrated Care Board",
            "{locality} Hospitals NHS Foundation Trust",
            "{locality} and {other_locality} NHS Trust",
            "{locality} Community Health NHS Trust",
            "{locality} Mental Health NHS Foundation Trust",
        ],
    ),
    Kind.PRIVATE_COMPANY: (
        14,
        0.2,
        5,
        [
            "{brand} Digital",
            "{brand} Technologies",
            "{brand} Analytics",
            "{brand} Consulting",
            "{brand} Systems Ltd",
            "{brand} Labs",
        ],
    ),
    Kind.UNIVERSITY: (
        8,
        0.5,
        3,
        [
            "University of {locality}",
            "{locality} University",
            "{locality} Institute of Technology",
            "{locality} Centre for Public Policy",
            "{locality} Business School",
        ],
    ),
    Kind.NON_PROFIT: (
        8,
        1,
        2.5,
        [
            "{locality} Citizens Advice",
            "{locality} Community Trust",
            "{locality} Housing Association",
            "{locality} Voluntary Action",
            "{cause} Foundation",
            "{locality} {cause} Alliance",
        ],
    ),
    Kind.INTERNATIONAL_BODY: (
        2,
        0.5,
        1,
        [
            "{region} Digital Government Partnership",
            "{region} Public Innovation Forum",
            "{region} Development Bank",
            "{region} Open Government Alliance",
            "{region} Cities Programme",
            "{region} Data Collaborative",
        ],
    ),
    Kind.NETWORK: (
        4,
        0.5,
        2,
        [
            "{locality} Digital Partnership",
            "{locality} Innovation Network",
            "{topic} Practitioners' Network",
            "{locality} Smart Places Network",
        ],
    ),
}
FOREIGN_NAMES = {
    Kind.LOCAL_AUTHORITY: ["City of {locality}", "{locality} Municipality", "{locality} Region"],
    Kind.CENTRAL_GOVERNMENT: ["Ministry of {portfolio} ({country})", "{country} Digital Agency"],
}
# The NHS and combined authorities exist only in the UK.
UK_ONLY = {Kind.NHS_BODY, Kind.COMBINED_AUTHORITY}
PARTNER_ROLES = {
    kind: weighted(roles)
    for kind, roles in {
        Kind.LOCAL_AUTHORITY: [
            (Role.DELIVERY_PARTNER, 6),
            (Role.COMMISSIONER, 2),
            (Role.FUNDER, 1),
        ],
        Kind.CENTRAL_GOVERNMENT: [
            (Role.FUNDER, 5),
            (Role.COMMISSIONER, 3),
            (Role.DELIVERY_PARTNER, 2),
        ],
        Kind.ARMS_LENGTH_BODY: [
            (Role.FUNDER, 4),
            (Role.DELIVERY_PARTNER, 3),
            (Role.COMMISSIONER, 2),
        ],
        Kind.COMBINED_AUTHORITY: [
            (Role.FUNDER, 4),
            (Role.COMMISSIONER, 3),
            (Role.DELIVERY_PARTNER, 2),
        ],
        Kind.NHS_BODY: [(Role.DELIVERY_PARTNER, 6), (Role.COMMISSIONER, 3)],
        Kind.PRIVATE_COMPANY: [
            (Role.TECHNOLOGY_SUPPLIER, 6),
            (Role.CONSULTANCY, 3),
            (Role.OTHER, 1),
        ],
        Kind.UNIVERSITY: [(Role.ACADEMIC_PARTNER, 9), (Role.OTHER, 1)],
        Kind.NON_PROFIT: [(Role.DELIVERY_PARTNER, 6), (Role.NETWORK, 1), (Role.OTHER, 1)],
        Kind.INTERNATIONAL_BODY: [(Role.FUNDER, 5), (Role.NETWORK, 3)],
        Kind.NETWORK: [(Role.NETWORK, 8), (Role.OTHER, 1)],
    }.items()
}
ROLE_DESCRIPTIONS = {
    Role.DELIVERY_PARTNER: ["Ran the service day to day", "Delivered the pilot", ""],
    Role.TECHNOLOGY_SUPPLIER: ["Built the platform", "Supplied the software", "Hosting"],
    Role.FUNDER: ["Grant funding", "Funded the pilot", ""],
    Role.ACADEMIC_PARTNER: ["Independent evaluation", "Data science support", ""],
    Role.NETWORK: ["Shared the approach with members", "Convened partners", ""],
    Role.COMMISSIONER: ["Commissioned the service", ""],
    Role.CONSULTANCY: ["Discovery and user research", "Change management", ""],
    Role.OTHER: ["Advice", ""],
}
# Share of the UK's records for each nation or ITL1 region ("" is the UK as a whole).
UK_PLACE_WEIGHTS = {"": 12, "ENG": 4, "TLI": 14, "TLD": 8, "TLM": 7, "TLJ": 6, "TLL": 5, "TLN": 3}
