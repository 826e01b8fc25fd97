"""Synthetic published initiatives in bulk, to benchmark the list, facets and search at scale."""

import bisect
import itertools
import math
import multiprocessing
import random
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, reset_queries, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from catalogue.models import (
    Barrier,
    Driver,
    Initiative,
    Metric,
    Organisation,
    Outcome,
    Partnership,
    Place,
    Quote,
    Sector,
    Source,
    Theme,
)
from catalogue.workflow import MEASURED_EVIDENCE_LEVEL

# Every slug made here starts with this and ends with a running number, so a second run can
# continue after the highest number and never collide with the first, or with real records.
SLUG_PREFIX = "synthetic-"
FIRST_YEAR, LAST_YEAR = 2000, 2026
Kind = Organisation.Kind
Role = Partnership.Role


def zipf(n, s=1.0):
    """Cumulative Zipf weights over n ranks, the first the heaviest; s=0 is uniform."""
    return list(itertools.accumulate(1 / rank**s for rank in range(1, n + 1)))


def weighted(pairs):
    """(items, cumulative weights) from (item, weight) pairs."""
    items, weights = zip(*pairs, strict=True)
    return list(items), list(itertools.accumulate(weights))


# Word lists for names and narratives, most frequent first: each is drawn Zipf-style, so some
# words are in a large share of the records and most in few, as in a real corpus.
WORDS = {
    "technology": [
        "a chatbot",
        "data analytics",
        "AI",
        "a shared data platform",
        "machine learning",
        "a mobile app",
        "open data",
        "cloud hosting",
        "robotic process automation",
        "predictive analytics",
        "a low-code platform",
        "text message reminders",
        "online booking",
        "generative AI",
        "a digital twin",
        "Internet of Things sensors",
        "video consultations",
        "remote monitoring",
        "computer vision",
        "natural language processing",
        "geospatial mapping",
        "a single customer record",
        "digital identity checks",
        "self-service kiosks",
        "an open API",
        "drones",
        "smart meters",
        "speech recognition",
        "LiDAR surveys",
        "blockchain",
    ],
    "audience": [
        "residents",
        "patients",
        "tenants",
        "families",
        "older people",
        "carers",
        "young people",
        "frontline staff",
        "pupils",
        "jobseekers",
        "small businesses",
        "caseworkers",
        "social workers",
        "disabled people",
        "parents",
        "commuters",
        "landlords",
        "nurses",
        "teachers",
        "volunteers",
        "veterans",
        "rough sleepers",
        "drivers",
        "visitors",
    ],
    "problem": [
        "a growing backlog",
        "rising demand",
        "paper forms",
        "long waiting times",
        "duplicated data entry",
        "high call volumes",
        "legacy systems",
        "tight budgets",
        "staff shortages",
        "fragmented records",
        "missed appointments",
        "low take-up",
        "manual processes",
        "poor data quality",
        "inconsistent decisions",
        "siloed teams",
        "rising costs",
        "complaints about delays",
    ],
    "data": [
        "case records",
        "housing data",
        "health records",
        "council tax records",
        "transport data",
        "benefits data",
        "school census returns",
        "sensor readings",
        "customer feedback",
        "call centre logs",
        "waste collection rounds",
        "planning records",
    ],
    "partner_kind": [
        "a local technology supplier",
        "a university research team",
        "neighbouring councils",
        "the NHS",
        "a charity",
        "a government digital team",
        "a social enterprise",
        "community groups",
        "a consultancy",
        "a housing association",
    ],
    "team": [
        "service designers",
        "data scientists",
        "social workers",
        "housing officers",
        "clinicians",
        "policy officers",
        "user researchers",
        "contact centre staff",
        "engineers",
        "teachers",
    ],
    "funder": [
        "a central government grant",
        "the council's transformation fund",
        "an innovation fund",
        "savings from the old contract",
        "a charitable foundation",
        "a European programme",
        "the local NHS",
    ],
    "count_word": ["two", "three", "several", "four", "five", "a dozen", "more than twenty"],
    "months": ["six", "three", "twelve", "nine", "eighteen", "four", "two", "twenty-four"],
    "percent": [str(n) for n in range(10, 61, 3)] + [str(n) for n in range(5, 10)],
    "number": ["1,200", "300", "4,500", "15,000", "650", "40", "2,000", "80,000", "120", "9,800"],
    "money": ["250,000", "1.2 million", "80,000", "600,000", "3 million", "45,000", "2.4 million"],
    "verb": [
        "automate",
        "redesign",
        "speed up",
        "modernise",
        "digitise",
        "transform",
        "simplify",
        "join up",
        "personalise",
        "streamline",
        "rethink",
        "open up",
    ],
    # Parts of synthetic organisation names.
    "portfolio": [
        "Work and Pensions",
        "Education",
        "Transport",
        "Health and Social Care",
        "Housing and Communities",
        "Business and Trade",
        "Environment",
        "Digital Affairs",
        "Justice",
        "Culture",
        "Science and Technology",
        "Energy",
        "Employment",
        "Local Government",
        "Finance",
        "Home Affairs",
    ],
    "topic": [
        "Digital",
        "Data",
        "Health",
        "Housing",
        "Skills",
        "Transport",
        "Environment",
        "Care Quality",
        "Public Health",
        "Standards",
        "Innovation",
        "Energy",
        "Water",
        "Food",
        "Arts",
    ],
    "cause": [
        "Digital Inclusion",
        "Carers",
        "Young People's",
        "Clean Air",
        "Open Data",
        "Food Bank",
        "Ageing Well",
        "Disability Rights",
        "Homelessness",
        "Family Support",
        "Refugee Welcome",
        "Green Spaces",
    ],
    "region": [
        "European",
        "Global",
        "Nordic",
        "Commonwealth",
        "International",
        "Atlantic",
        "Baltic",
        "Asia-Pacific",
        "Transatlantic",
        "Pacific",
    ],
    "publisher": [
        "Public Innovation Review",
        "Local Digital Journal",
        "Civic Technology Quarterly",
        "Government Data Bulletin",
        "Centre for Service Design",
        "Institute for Local Innovation",
        "Open Government Notes",
        "Health Service Technology",
    ],
    "first_name": [
        "Sarah",
        "James",
        "Priya",
        "Tom",
        "Aisha",
        "David",
        "Emma",
        "Mohammed",
        "Laura",
        "Chris",
        "Fiona",
        "Kwame",
        "Helen",
        "Rhys",
        "Mei",
        "Siobhan",
    ],
    "surname": [
        "Smith",
        "Patel",
        "Jones",
        "Williams",
        "Brown",
        "Khan",
        "Taylor",
        "Evans",
        "Wilson",
        "Murphy",
        "Campbell",
        "Okafor",
        "Clarke",
        "Hughes",
        "Chen",
        "Davies",
    ],
}

# Localities and company brands are drawn uniformly: they exist to keep names apart.
LOCALITIES = [
    head + tail
    for head in (  # noqa: SIM905 (a word list reads better as a line of text)
        "North South East West Ash Bram Kings Mill Oak Stan Wey Hart Brook Fern Hol Lang Mar "
        "Red Black White Green Thorn Wil Dun Cal Brad Ald Elm Fair High Long New Old Rose "
        "Stock Tam Wick Wold Ray Pen"
    ).split()
    for tail in (  # noqa: SIM905
        "shire ford bury ton ham field wick minster mouth borough leigh stead worth bridge "
        "dale combe by thorpe well caster port hurst ley mere gate haven stow wood cliffe moor"
    ).split()
]
BRANDS = [
    head + tail
    for head in (  # noqa: SIM905
        "Bright Clear Open Blue True Civic Nimbus Arc Kite Hex Quill Lumen Vector Harbour "
        "Pillar Beacon Fathom Orbit Signal Cedar"
    ).split()
    for tail in (  # noqa: SIM905
        "path stack loop wave mind bridge point works line sight field form gate light"
    ).split()
]
VOCABULARY = {key: (words, zipf(len(words), 0.9)) for key, words in WORDS.items()}
VOCABULARY["locality"] = (LOCALITIES, zipf(len(LOCALITIES), 0))
VOCABULARY["other_locality"] = VOCABULARY["locality"]
VOCABULARY["brand"] = (BRANDS, zipf(len(BRANDS), 0))

# What public-sector work each COFOG sector is about; titles and narratives build on these.
SERVICES = {
    "general-public-services": [
        "customer contact",
        "council tax collection",
        "complaints handling",
        "freedom of information requests",
        "procurement",
        "payroll",
        "electoral registration",
        "document management",
        "the council website",
        "registration of births and deaths",
    ],
    "defence": [
        "armed forces recruitment",
        "veterans' support",
        "equipment maintenance",
        "reservist training",
        "base logistics",
    ],
    "public-order-safety": [
        "999 call handling",
        "neighbourhood policing",
        "fire safety inspections",
        "domestic abuse referrals",
        "court listings",
        "probation supervision",
        "flood warnings",
        "licensing enforcement",
    ],
    "economic-affairs": [
        "bus routes",
        "road maintenance",
        "pothole reporting",
        "planning applications",
        "parking permits",
        "business rates",
        "transport planning",
        "apprenticeship matching",
        "high street regeneration",
        "rail passenger information",
        "broadband rollout",
    ],
    "environmental-protection": [
        "waste collection",
        "recycling",
        "air quality monitoring",
        "flood risk management",
        "street cleaning",
        "fly-tipping enforcement",
        "energy efficiency retrofits",
        "tree planting",
        "water quality monitoring",
    ],
    "housing-community": [
        "housing repairs",
        "homelessness prevention",
        "social housing allocations",
        "damp and mould inspections",
        "housing benefit claims",
        "temporary accommodation",
        "tenant engagement",
        "empty homes",
        "community safety",
    ],
    "health": [
        "GP appointments",
        "hospital discharge",
        "mental health support",
        "social prescribing",
        "A&E triage",
        "vaccination uptake",
        "outpatient follow-ups",
        "care home visits",
        "continuing healthcare assessments",
        "falls prevention",
    ],
    "recreation-culture": [
        "library services",
        "leisure centre bookings",
        "parks management",
        "museum collections",
        "youth clubs",
        "arts grants",
    ],
    "education": [
        "school admissions",
        "special educational needs assessments",
        "free school meals",
        "school transport",
        "attendance monitoring",
        "adult skills courses",
        "early years places",
        "teacher workload",
    ],
    "social-protection": [
        "benefits claims",
        "adult social care assessments",
        "children's social care referrals",
        "employment support",
        "carers' support",
        "debt advice",
        "welfare payments",
        "pension credit take-up",
        "foster care recruitment",
    ],
}
SECTOR_WEIGHTS = {
    "general-public-services": 24,
    "health": 18,
    "social-protection": 12,
    "housing-community": 10,
    "economic-affairs": 10,
    "education": 8,
    "environmental-protection": 8,
    "public-order-safety": 5,
    "recreation-culture": 3,
    "defence": 1,
}
# A synthetic sector-free record would be unrealistic; unknown sectors borrow these.
DEFAULT_SERVICES = SERVICES["general-public-services"]
VOCABULARY["any_service"] = (
    [s for services in SERVICES.values() for s in services],
    zipf(sum(map(len, SERVICES.values())), 0.5),
)

TITLES = [
    "{org} {verbs} {service} with {technology}",
    "{locality} {verbs} {service} with {technology}",
    "How {org} used {technology} to {verb} {service}",
    "{Technology} for {service} in {locality}",
    "Using {technology} to {verb} {service}",
    "{org}: {service} with {technology}",
]
SUMMARIES = [
    "{org} used {technology} to {verb} {service} for {audience}.",
    "{org} used {technology} to {verb} {service} for {audience}. "
    "Processing times fell by {percent}% in the first year.",
    "A project to {verb} {service} in {locality}, using {technology}.",
    "{org} worked with {partner_kind} to {verb} {service}, after {problem} left {audience} "
    "waiting too long.",
]
CHALLENGES = [
    "{org} faced {problem} in {service}, with {audience} often waiting weeks for an answer.",
    "Demand for {service} had grown by {percent}% in five years while budgets shrank.",
    "Staff spent much of their time re-keying data between systems that did not talk to each "
    "other.",
    "Many {audience} found the old process confusing, and complaints about {service} were rising.",
    "Information about {audience} was held in {number} separate spreadsheets and case files.",
    "An inspection had criticised {problem} and the lack of reliable {data}.",
    "The existing contract for {any_service} was ending, which gave the team a chance to start "
    "again.",
    "Councillors wanted to know why {service} cost more in {locality} than in comparable areas.",
    "The pandemic exposed how dependent {service} was on {problem}.",
    "Frontline teams knew the problems well but had no time or money to fix them.",
    "Previous attempts to use {technology2} had stalled because of {problem}.",
    "Around {percent}% of contacts were simple questions that could have been answered online.",
    "Housing, health and transport teams each collected the same data about {audience} without "
    "sharing it.",
    "Schools and social workers warned that {audience} were falling through the gaps.",
    "Waiting lists for {any_service} were the longest in the region.",
]
APPROACHES = [
    "The team introduced {technology} with {partner_kind}, starting with a small pilot in one "
    "part of {locality}.",
    "User researchers interviewed {number} {audience} and mapped every step of {service}.",
    "{org} ran a {months}-week discovery, then an alpha and a beta against the service standard.",
    "{data_cap} and {data} were brought together in one platform under clear data sharing "
    "agreements.",
    "A multidisciplinary team of designers, developers, analysts and {team} worked in two-week "
    "sprints.",
    "{Technology} was used to triage requests, so that staff could focus on complex cases.",
    "The work was paid for by {funder} and overseen by a board of senior officers.",
    "Frontline staff co-designed the new process and tested prototypes with {audience}.",
    "The contract was outcome-based, so the supplier was paid for results rather than activity.",
    "The model was trained on {number} anonymised historic cases and checked for bias before use.",
    "An ethics panel reviewed how data about {audience} would be used and published its advice.",
    "The service launched alongside {technology2} and a phone line for people who could not go "
    "online.",
    "The code was published as open source, with an open API so that other councils could reuse "
    "it.",
    "Waste, benefits and council tax data were linked to give a fuller picture of need.",
    "Volunteers and {team} were trained to help {audience} use the new service.",
]
RESULTS = [
    "Processing times for {service} fell by {percent}% within {months} months.",
    "{org} estimates annual savings of £{money} from reduced manual work.",
    "Satisfaction among {audience} rose by {percent} percentage points.",
    "About {number} {audience} used the new service in its first year.",
    "Calls to the contact centre dropped by {percent}%, freeing staff for more complex cases.",
    "An independent evaluation found a modest but statistically significant improvement.",
    "Errors fell sharply and fewer decisions were overturned on appeal.",
    "The approach has since been adopted by {count_word} other public bodies.",
    "Results were mixed: take-up was lower than expected among {audience}.",
    "Staff reported spending less time on paperwork and more time with {audience}.",
    "Missed appointments fell by {percent}%, saving clinicians hundreds of hours.",
    "The data, published as open data, has been used by researchers, journalists and local "
    "businesses.",
    "The pilot ended after {months} months when funding ran out, but the platform is still used "
    "for {any_service}.",
    "There was no measurable change in outcomes for {audience}, although costs fell.",
]
LESSONS = [
    "Start small, with one service and one team, and prove the value before scaling.",
    "Involving frontline staff early made the biggest difference to adoption.",
    "Data quality was worse than expected and cleaning it took {months} months.",
    "Procurement rules slowed the project down; a framework agreement would have helped.",
    "{Technology} works best when people can still reach a human easily.",
    "Leadership support mattered more than the technology itself.",
    "The team underestimated the effort needed to train staff and change habits.",
    "Be open about what did not work: the first version of {service} confused many {audience}.",
    "Information governance needs planning from the start, not adding at the end.",
    "Measuring a baseline before launch made the results credible.",
    "Short-term funding made it hard to keep skilled people in the team.",
    "Working with {partner_kind} brought skills the organisation lacked.",
    "Accessibility testing with disabled people found problems that automated checks missed.",
    "Reusing what {count_word} other councils had built saved months of work.",
]
SOURCE_TITLES = [
    "{title}: case study",
    "Evaluation of {service} in {locality}",
    "How {org} is using {technology}",
    "{org} annual report",
    "Lessons from the {locality} {service} pilot",
]
# (label, unit, direction, lowest, highest): typical reported results.
METRICS = [
    ("Administrative costs", "%", Metric.Direction.DECREASE, 5, 40),
    ("Average processing time", "days", Metric.Direction.DECREASE, 1, 30),
    ("Calls to the contact centre", "%", Metric.Direction.DECREASE, 5, 50),
    ("User satisfaction", "%", Metric.Direction.INCREASE, 3, 30),
    ("Annual running costs", "£", Metric.Direction.DECREASE, 20_000, 2_500_000),
    ("Staff hours saved per month", "hours", Metric.Direction.INCREASE, 50, 5_000),
    ("Missed appointments", "%", Metric.Direction.DECREASE, 5, 45),
    ("Online take-up", "pp", Metric.Direction.INCREASE, 5, 40),
    ("People helped", "", Metric.Direction.INCREASE, 100, 20_000),
    ("Emergency response time", "minutes", Metric.Direction.DECREASE, 1, 15),
    ("Carbon emissions", "%", Metric.Direction.DECREASE, 2, 35),
    ("Error rate", "%", Metric.Direction.DECREASE, 5, 60),
]
BASELINES = [
    "compared with the year before launch",
    "against a matched comparison group",
    "compared with the previous system",
    "against the national average",
    "",
]
PERIODS = ["first 12 months", "first six months", "over two years", "2023-24", "2024-25", ""]

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


M2M_COLUMNS = {
    "themes": "theme_id",
    "drivers": "driver_id",
    "outcomes": "outcome_id",
    "barriers": "barrier_id",
    "places": "place_id",
}
THROUGH = {name: getattr(Initiative, name).through for name in M2M_COLUMNS}
# Rows pointing at an initiative can go before it, as foreign keys are checked at commit.
# Partnerships do, so that PostgreSQL's search trigger indexes each initiative once, partners'
# names included, as it is inserted, rather than again when its partnerships arrive. Sources
# and metrics (metrics cite sources) go first of all: the catalogue version triggers lock one
# row from a transaction's first write to the other tables until it commits, so the other
# worker process can save these meanwhile.
INSERT_ORDER = [Source, Quote, Metric, Partnership, Initiative, *THROUGH.values()]
# Counts are keyed by name, not model: worker processes send them back pickled, which the
# auto-created link models cannot be.
COUNTED_AS = {
    Source: "sources",
    Quote: "quotes",
    Metric: "metrics",
    Partnership: "partnerships",
    Initiative: "initiatives",
    **dict.fromkeys(THROUGH.values(), "links"),
}
# Most catalogued work is live or being trialled; ideas and failures are rarer.
STAGES = weighted(
    [
        (Initiative.Stage.IDEA, 5),
        (Initiative.Stage.PILOT, 27),
        (Initiative.Stage.IMPLEMENTED, 45),
        (Initiative.Stage.SCALED, 13),
        (Initiative.Stage.DISCONTINUED, 10),
    ]
)
END_YEAR_CHANCE = {"idea": 0, "pilot": 0.4, "implemented": 0.2, "scaled": 0.1, "discontinued": 1}
INNOVATION_TYPES = weighted(
    zip(["", *Initiative.InnovationType.values], [5, 50, 20, 15, 10], strict=True)
)
# Exponential growth: each year has about 15% more new initiatives than the one before.
YEARS = weighted(
    (year, math.exp((year - FIRST_YEAR) / 7)) for year in range(FIRST_YEAR, LAST_YEAR + 1)
)


def draw(rng, choices):
    """One of (items, cumulative weights), as Random.choices() picks it but a few times faster."""
    items, cum_weights = choices
    return items[bisect.bisect(cum_weights, rng.random() * cum_weights[-1], 0, len(items) - 1)]


def how_many(rng, weights):
    """A number from 0, 1, 2... drawn with the given weights."""
    return rng.choices(range(len(weights)), weights=weights)[0]


def distinct(rng, items, cum_weights, k):
    """k different items, each drawn with the given weights."""
    chosen = []
    while len(chosen) < min(k, len(items)):
        item = draw(rng, (items, cum_weights))
        if item not in chosen:
            chosen.append(item)
    return chosen


def capitalise(text):
    return text[:1].upper() + text[1:]


class Words(dict):
    """A format_map() context: this record's fixed words, and a fresh draw for any other slot."""

    def __init__(self, rng, **fixed):
        super().__init__(fixed)
        self.rng = rng

    def __missing__(self, key):
        return draw(self.rng, VOCABULARY[key])


def paragraph(rng, templates, words, fewest=2, most=5):
    return " ".join(t.format_map(words) for t in rng.sample(templates, rng.randint(fewest, most)))


def next_number(model):
    """One more than the highest running number on this model's synthetic slugs."""
    slugs = model.objects.filter(slug__startswith=SLUG_PREFIX).values_list("slug", flat=True)
    numbers = (slug.rpartition("-")[2] for slug in slugs.iterator())
    return max((int(n) for n in numbers if n.isdigit()), default=0) + 1


class Command(BaseCommand):
    help = (
        "Add COUNT synthetic published initiatives with organisations, tags, partnerships, "
        "sources and metrics, for benchmarking. Deterministic for a given --seed; running it "
        "again adds COUNT more."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="Initiatives to create.")
        parser.add_argument("--seed", type=int, default=0, help="Random seed (default 0).")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=2000,
            help="Initiatives per transaction (default 2000).",
        )

    def handle(self, *args, count, seed, batch_size, **options):
        if count < 1 or batch_size < 1:
            raise CommandError("--count and --batch-size must be at least 1.")
        started = time.monotonic()
        self.seed, self.rng = seed, random.Random(seed)
        self.now = timezone.now()
        self.load_taxonomies()
        with transaction.atomic():
            organisations = self.create_organisations(max(50, count // 20))
        self.prepare_organisation_draws(organisations)

        self.first_number = next_number(Initiative)
        self.pks = self.allocate_ids(count)
        initial = last_analyzed = Initiative.objects.count()
        batches = [(start, min(batch_size, count - start)) for start in range(0, count, batch_size)]
        totals, done = Counter(), 0
        for created in self.save(batches):
            totals.update(created)
            size = created["initiatives"]
            done += size
            # Whenever the catalogue has doubled: planned with statistics from when the tables
            # were small, the triggers' lookups scan whole tables, and slow down as they grow.
            if done + initial >= 2 * last_analyzed:
                self.analyze()
                last_analyzed = done + initial
            # About ten progress lines whatever the count, and always the last.
            if options["verbosity"] >= 1 and (
                done == count or done * 10 // count > (done - size) * 10 // count
            ):
                elapsed = time.monotonic() - started
                self.stdout.write(f"  {done:,} / {count:,} initiatives ({elapsed:.1f} s)")

        # And the first benchmark queries are planned for the final row counts, rather than
        # waiting for autovacuum.
        self.analyze()

        self.stdout.write(
            self.style.SUCCESS(
                f"Created {count:,} published initiatives, {len(organisations):,} organisations, "
                f"{totals['partnerships']:,} partnerships, {totals['sources']:,} sources, "
                f"{totals['quotes']:,} quotes, "
                f"{totals['metrics']:,} metrics and {totals['links']:,} tag and place links "
                f"in {time.monotonic() - started:.1f} s."
            )
        )

    def analyze(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in [Organisation, *INSERT_ORDER]:
                    cursor.execute(f"ANALYZE {model._meta.db_table}")

    def load_taxonomies(self):
        vocabularies = (Theme, Driver, Outcome, Barrier, Sector, Place)
        if not all(model.objects.exists() for model in vocabularies):
            fixture = settings.BASE_DIR / "fixtures" / "taxonomies.json"
            self.stdout.write(f"Taxonomies missing; loading {fixture.name}...")
            call_command("loaddata", fixture, verbosity=0)
            if not all(model.objects.exists() for model in vocabularies):
                raise CommandError(
                    f"Themes, drivers, outcomes, barriers, sectors and places are needed and "
                    f"{fixture} did not provide them all."
                )

        def ranked(model, s):
            # In fixture order, which puts the commonest terms first.
            pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
            return pks, zipf(len(pks), s)

        self.themes = ranked(Theme, 1.0)
        self.drivers = ranked(Driver, 0.9)
        self.outcomes = ranked(Outcome, 0.9)
        self.barriers = ranked(Barrier, 0.7)
        sectors = []
        for sector in Sector.objects.order_by("pk"):
            services = SERVICES.get(sector.slug, DEFAULT_SERVICES)
            choice = (sector.pk, services, zipf(len(services), 0.8))
            sectors.append((choice, SECTOR_WEIGHTS.get(sector.slug, 2)))
        self.sectors = weighted(sectors)
        places = list(Place.objects.order_by("pk"))
        uk = [p for p in places if p.country.code == "GB"]
        abroad = [p for p in places if p.country.code != "GB"]
        # Abroad, a few countries (the first in the fixture) account for most records.
        place_weights = [(p, UK_PLACE_WEIGHTS.get(p.region, 4)) for p in uk] + [
            (p, 10 / rank) for rank, p in enumerate(abroad, 1)
        ]
        self.places = weighted(place_weights)
        self.uk_places = weighted(place_weights[: len(uk)]) if uk else self.places

    def create_organisations(self, number):
        rng = self.rng
        kinds = weighted((kind, share) for kind, (share, *_) in ORGANISATION_KINDS.items())
        first_number = next_number(Organisation)
        # Names already taken, by real records or an earlier run, are avoided too.
        names = set(Organisation.objects.values_list("name", flat=True))
        organisations = []
        for i in range(number):
            kind = draw(rng, kinds)
            place = draw(rng, self.uk_places if kind in UK_ONLY else self.places)
            patterns = ORGANISATION_KINDS[kind][3]
            if place.country.code != "GB":
                patterns = FOREIGN_NAMES.get(kind, patterns)
            # A few retries keep names apart; after that a repeat is as real life has it.
            for _ in range(10):
                locality = rng.choice(LOCALITIES)
                pattern = rng.choice(patterns)
                name = pattern.format_map(Words(rng, locality=locality, country=place.country.name))
                if name not in names:
                    break
            names.add(name)
            slug = f"{SLUG_PREFIX}{slugify(name)[:200]}-{first_number + i}"
            organisation = Organisation(
                name=name,
                slug=slug,
                kind=kind,
                country=place.country.code,
                website=f"https://{slugify(name)}.example",
            )
            # Not stored: what titles and places of the initiatives it leads are built from.
            organisation.home = place
            if "{locality}" not in pattern:
                locality = place.get_region_display() or place.country.name
            organisation.locality = locality
            organisations.append(organisation)
        Organisation.objects.bulk_create(organisations)
        return organisations

    def prepare_organisation_draws(self, organisations):
        # Both leads and partners follow a Zipf law over the pool (some councils and suppliers
        # appear everywhere), scaled by how likely each kind is to lead or partner.
        rank_weights = [1 / rank**0.6 for rank in range(1, len(organisations) + 1)]
        self.leads = weighted(
            (o, w * ORGANISATION_KINDS[o.kind][1])
            for o, w in zip(organisations, rank_weights, strict=True)
        )
        self.partners = weighted(
            (o, w * ORGANISATION_KINDS[o.kind][2])
            for o, w in zip(
                self.rng.sample(organisations, len(organisations)), rank_weights, strict=True
            )
        )

    def allocate_ids(self, number):
        """Primary keys for the new initiatives, so that rows pointing at them can go first."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [Initiative._meta.db_table, number],
                )
                return [pk for (pk,) in cursor.fetchall()]
        first = (Initiative.objects.aggregate(Max("pk"))["pk__max"] or 0) + 1
        return range(first, first + number)

    def plan_batch(self, start, size):
        """Unsaved initiatives start to start + size, and everything linked to them, by model."""
        batch = defaultdict(list)
        for i in range(start, start + size):
            # Each from its own seed: the same records whatever the batch size, and whichever
            # process plans them.
            self.rng.seed(f"{self.seed}-{i}")
            for obj in self.plan_initiative(self.first_number + i, self.pks[i]):
                batch[type(obj)].append(obj)
        return batch

    def plan_initiative(self, number, pk):
        """An unsaved initiative and the rows linked to it."""
        rng = self.rng
        lead = draw(rng, self.leads)
        sector, services, service_weights = draw(rng, self.sectors)
        technology = draw(rng, VOCABULARY["technology"])
        verb = draw(rng, VOCABULARY["verb"])
        words = Words(
            rng,
            org=lead.name,
            locality=lead.locality,
            service=draw(rng, (services, service_weights)),
            technology=technology,
            Technology=capitalise(technology),
            technology2=draw(rng, VOCABULARY["technology"]),
            verb=verb,
            # "speed up" becomes "speeds up".
            verbs=verb.replace(" ", "s ", 1) if " " in verb else f"{verb}s",
            data_cap=capitalise(draw(rng, VOCABULARY["data"])),
        )
        title = capitalise(rng.choice(TITLES).format_map(words))
        words["title"] = title

        stage = draw(rng, STAGES)
        start_year = draw(rng, YEARS)
        end_year = None
        if rng.random() < END_YEAR_CHANCE[stage]:
            end_year = min(LAST_YEAR, start_year + rng.choice([0, 1, 1, 2, 2, 3, 4]))
        earliest = min(datetime(max(start_year, 2012), 1, 1, tzinfo=UTC), self.now)
        # One draw whatever the date, so that the clock cannot change the records drawn after.
        published_at = earliest + (self.now - earliest) * rng.random()

        initiative = Initiative(
            pk=pk,
            title=title,
            slug=f"{SLUG_PREFIX}{slugify(title)[:200].rstrip('-')}-{number}",
            summary=rng.choice(SUMMARIES).format_map(words),
            challenge=paragraph(rng, CHALLENGES, words),
            approach=paragraph(rng, APPROACHES, words),
            results=paragraph(rng, RESULTS, words),
            lessons=paragraph(rng, LESSONS, words),
            lead_organisation_id=lead.pk,
            sector_id=sector,
            innovation_type=draw(rng, INNOVATION_TYPES),
            stage=stage,
            start_year=start_year,
            end_year=end_year,
            evidence_level=rng.choices(range(1, 6), weights=[45, 30, 15, 7, 3])[0],
            status=Initiative.Status.PUBLISHED,
            published_at=published_at,
            created_at=published_at - timedelta(days=rng.randint(1, 120)),
        )

        places = [lead.home]
        if rng.random() < 0.25 and (other := draw(rng, self.places)) != lead.home:
            places.append(other)
        links = {
            "themes": distinct(rng, *self.themes, 1 + how_many(rng, [30, 35, 25, 10])),
            "drivers": distinct(rng, *self.drivers, 1 + how_many(rng, [50, 35, 15])),
            "outcomes": distinct(rng, *self.outcomes, 1 + how_many(rng, [40, 40, 20])),
            "barriers": distinct(rng, *self.barriers, how_many(rng, [35, 45, 20])),
            "places": [place.pk for place in places],
        }
        rows = [initiative]
        for name, targets in links.items():
            column = M2M_COLUMNS[name]
            rows += [THROUGH[name](initiative_id=pk, **{column: target}) for target in targets]

        pairs = set()
        wanted = 1 + how_many(rng, [30, 35, 20, 15])
        while len(pairs) < wanted:
            organisation = draw(rng, self.partners)
            role = draw(rng, PARTNER_ROLES[organisation.kind])
            # Now and then the same organisation twice, in another role (funder and
            # commissioner, say): the unique constraint is on all three.
            if organisation is not lead and (organisation.pk, role) not in pairs:
                pairs.add((organisation.pk, role))
                rows.append(
                    Partnership(
                        initiative_id=pk,
                        organisation_id=organisation.pk,
                        role=role,
                        description=rng.choice(ROLE_DESCRIPTIONS[role]),
                    )
                )

        sources = []
        for _ in range(1 + how_many(rng, [65, 35])):
            publisher = lead.name if rng.random() < 0.4 else words["publisher"]
            author = f"{words['first_name']} {words['surname']}" if rng.random() < 0.5 else ""
            published_on = date(start_year, 1, 1) + timedelta(days=rng.randrange(365))
            sources.append(
                Source(
                    initiative_id=pk,
                    title=capitalise(rng.choice(SOURCE_TITLES).format_map(words)),
                    publisher=publisher,
                    author=author,
                    url=f"https://{slugify(publisher)}.example/{initiative.slug}",
                    published_on=min(published_on, published_at.date()),
                    accessed_on=published_at.date(),
                )
            )

        rows += sources
        for _ in range(how_many(rng, [35, 40, 25])):
            label, unit, direction, lowest, highest = rng.choice(METRICS)
            value = Decimal(rng.randint(lowest, highest))
            if rng.random() < 0.08:
                direction, value = Metric.Direction.NO_CHANGE, Decimal(0)
            metric = Metric(
                initiative_id=pk,
                label=label,
                value=value,
                unit=unit,
                direction=direction,
                baseline=rng.choice(BASELINES),
                period=rng.choice(PERIODS),
            )
            # As the publishing rules ask, each figure cites its source and the passage
            # there that gives it. Both are saved before the metric, so Django fills in
            # source_id and quote_id by then.
            quote = Quote(
                initiative_id=pk,
                source=sources[0],
                text=f"{capitalise(label)}: {value}{unit}, {metric.baseline}.",
            )
            metric.source, metric.quote = sources[0], quote
            rows += [quote, metric]
        if not any(isinstance(row, Metric) for row in rows):
            # Evidence of measured results needs a measured result (the publishing rules).
            initiative.evidence_level = min(initiative.evidence_level, MEASURED_EVIDENCE_LEVEL - 1)
        return rows

    def save(self, batches):
        """Plan and save each (start, size) batch in its own transaction, in order; yield how
        many rows of each model each made.

        On PostgreSQL two processes do this at once, so that while one waits for the database
        (whose triggers make saving cost as much as building the rows) the other works.
        """
        # Other connections could not see rows of a transaction the command is called in
        # (as in tests), nor may SQLite be written from two at once.
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            for start, size in batches:
                yield self.insert(self.plan_batch(start, size))
            return
        # The workers find the command in their forked copy of this module; they must not
        # share the parent's database connection.
        global forked_command
        forked_command = self
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(2) as pool:
            yield from pool.imap(save_in_worker, batches)

    @transaction.atomic
    def insert(self, batch):
        created = Counter()
        for model in INSERT_ORDER:
            model.objects.bulk_create(batch[model])
            created[COUNTED_AS[model]] += len(batch[model])
        # With DEBUG on, Django keeps every query's SQL, and these run to megabytes.
        reset_queries()
        return created


def save_in_worker(batch):
    try:
        return forked_command.insert(forked_command.plan_batch(*batch))
    finally:
        # Each batch on a fresh connection, so that none is left open when the pool ends.
        connection.close()
