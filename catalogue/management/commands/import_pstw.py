"""Import the EU Public Sector Tech Watch case list (a CSV export) into the catalogue.

    python manage.py import_pstw pstw_dataset.csv [--dry-run] [--publish]

Dataset: European Commission, Joint Research Centre, Public Sector Tech Watch, doi
10.2905/JRC.J1MWC9R, licence CC BY 4.0. Every imported record cites it as a source.

How the rows become records:

- A row is matched to a record by its PSTW ID, so importing a newer snapshot updates the
  records instead of duplicating them. A record whose mapped state is what is stored is not
  written at all ("unchanged").
- The importer owns the fields it maps (title, summary, approach, website, years, stage,
  sector, lead organisation, NUTS code, collaboration type, funding) and overwrites them on
  re-import; the history keeps every earlier version. It never changes a record's status
  (other than publishing drafts with --publish) or its slug, and never removes a tag: its
  themes, outcomes, driver and places are added to whatever an editor has tagged. Of the
  sources it replaces only its own: those whose publisher is CITED_VIA, and the dataset
  attribution (publisher DATASET_PUBLISHER, URL DATASET_URL).
- Rows that cannot make a record (no or duplicate PSTW ID, no name, no responsible
  organisation, a database error) are rejected and listed with their CSV line; everything
  else imports, with a warning for each value that could not be mapped (left blank).
- So are rows that cannot be read as one: a number of values other than the header's (a
  quote left open makes csv read the rows after it into one value: those lines are read
  again, as rows), a NUL character or a value longer than VALUE_LENGTH in a column the
  importer reads, a PSTW ID not written in ASCII digits. A file is refused whole only when
  it cannot be read at all: not UTF-8, no header, a column missing, or one given twice.
- One outer transaction, a savepoint per row, one django-reversion revision per record.
  Rows are mapped first; new organisations are then saved in one statement, each record in
  its savepoint, and the tag links of all records at the end (see Importer.run).

Decisions the data forced (the value tables follow):

- Organisations are matched on their name (whitespace collapsed, any case) *and* country:
  "Ministry of Finance" is a different body in each of eight countries. A body without a
  country (a European institution, or an EU-wide case) matches one of that name anywhere.
  A name too long for the name field (two rows: a list of bodies, and a paragraph about the
  body) is shortened to the first body named, and the full text goes into `approach`.
- NUTS: two-letter codes (IT, UK, EL, EU) are country level and not stored; UE, ALB, SRB
  and GR are the EU, Albania, Serbia and Greece written the wrong way, so country level too;
  ND ("not defined") is treated as blank. UK codes also give the ITL1 region (UKI31 -> TLI).
  The country column wins over a NUTS code of another country (a warning says so).
- URLs that the export's find-and-replace of "PoC" by "Proof of Concept" broke in two are
  kept as text, never as (wrong) links.
"""

import csv
import functools
import re
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import reversion
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils.text import slugify
from django_countries import countries

from catalogue.models import (
    MAX_YEAR,
    MIN_YEAR,
    Barrier,
    CollaborationType,
    Driver,
    Funding,
    HistoryEntry,
    Initiative,
    Metric,
    Organisation,
    OrganisationKind,
    Outcome,
    Partnership,
    Place,
    Sector,
    Source,
    Stage,
    Status,
    Theme,
)
from catalogue.workflow import publication_problems

# --------------------------------------------------------------------------------------------
# Mapping tables. Keys are compared after `key()`: whitespace collapsed, case folded.
# --------------------------------------------------------------------------------------------

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
PROGRESS_EVERY = 250
# The longest value a row may have: csv's own default limit. The real case list's longest
# is under 4,000 characters; one of megabytes is a broken export, not a description.
VALUE_LENGTH = 131_072
# Up to this many warnings are listed one by one; more are counted by kind (-v 2 lists all).
LIST_WARNINGS_UP_TO = 20

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


def clean(value):
    """One line of text: runs of whitespace (non-breaking spaces too) as one space, trimmed."""
    return " ".join((value or "").split())


def key(value):
    """How values are compared: cleaned and case-folded."""
    return clean(value).casefold()


def clean_text(value):
    """Multi-line text as Markdown: each line cleaned, each line break a paragraph break."""
    lines = (clean(line) for line in (value or "").splitlines())
    return "\n\n".join(line for line in lines if line)


def shorten(text, limit):
    """`text` in at most `limit` characters, cut at a sentence or word boundary with an
    ellipsis when it had to be cut."""
    if len(text) <= limit:
        return text
    room = text[: limit - 2]
    # The last sentence end (a full stop before a capital or a digit) in the second half.
    sentence_ends = [
        match.end(1)
        for match in re.finditer(r"([.!?][\"\u201d\u2019)]?)\s+(\S)", text[: limit - 1])
        if match.end(1) >= limit // 2 and (match[2].isupper() or match[2].isdigit())
    ]
    if sentence_ends:
        return text[: sentence_ends[-1]] + " …"
    cut = room.rfind(" ")
    if cut < limit // 2:
        return text[: limit - 1] + "…"
    return room[:cut].rstrip(" ,;:-\u2013\u2014") + "…"


def is_url(text):
    if len(text) > URL_LENGTH:
        return False
    try:
        validate_url(text)
    except ValidationError:
        return False
    return True


def trim_url(text):
    """A URL found in prose, without the punctuation that ended the sentence around it."""
    while text and text[-1] in ".,;:!?'\"\u201d\u2019":
        text = text[:-1]
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1]
    return text


def domain(url):
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def tidy(text):
    """The prose left around URLs, without empty brackets and dangling separators."""
    previous = None
    while text != previous:
        previous = text
        text = clean(re.sub(r"\(\s*\)|\[\s*\]", " ", text))
        text = re.sub(r"^(?:and|&)\s+|\s+(?:and|&)$", "", text, flags=re.IGNORECASE)
        text = text.strip(" ,;:-\u2013\u2014&|/")
    return text


@functools.cache
def country_code(name):
    """The ISO code of a country named in English (or by its code); "" when unknown."""
    code = COUNTRY_ALIASES.get(name.casefold()) or countries.by_name(name)
    if not code and len(name) == 2 and countries.name(name.upper()):
        code = name.upper()
    return code or ""


def parse_date(value):
    """DD/MM/YYYY (or ISO) -> date; None when blank; ValueError when not a date."""
    value = clean(value)
    if not value:
        return None
    for pattern in ("%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ValueError(value)


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceData:
    title: str
    url: str = ""
    publisher: str = CITED_VIA
    published_on: date | None = None

    @classmethod
    def of(cls, source):
        return cls(source.title, source.url, source.publisher, source.published_on)


@dataclass(frozen=True)
class OrganisationData:
    name: str
    kind: str
    country: str  # ISO code, or "" when the case covers no one country


@dataclass
class Mapped:
    """What one row says about its record, in the catalogue's terms, before any lookup."""

    pstw_id: str
    title: str
    summary: str
    approach: str
    website: str
    nuts_code: str
    stage: str | None  # None: the row gives none (a new record is left "not stated")
    start_year: int | None
    end_year: int | None
    collaboration_type: str
    funding: str
    sector_id: int | None
    organisation: OrganisationData
    places: list  # (country, region)
    themes: list  # slugs
    outcomes: list  # slugs
    drivers: list  # slugs
    sources: list  # SourceData


@dataclass
class Rejection:
    line: int
    pstw_id: str
    reason: str

    def __str__(self):
        return f"line {self.line}, {self.pstw_id or 'no PSTW ID'}: {self.reason}"


@dataclass
class RowWarning:
    line: int
    pstw_id: str
    kind: str
    message: str

    def __str__(self):
        return f"line {self.line}, {self.pstw_id}: {self.kind}: {self.message}"


@dataclass
class Result:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    published: int = 0
    rejected: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    # Drafts --publish left alone: problem message -> how many records.
    not_published: Counter = field(default_factory=Counter)
    drafts_not_published: int = 0
    new_terms: list = field(default_factory=list)
    seconds: float = 0.0


class RowRejected(Exception):
    pass


@dataclass
class PlannedRow:
    line: int
    pstw_id: str
    mapped: Mapped | None = None
    organisation: Organisation | None = None
    warnings: list = field(default_factory=list)


# --------------------------------------------------------------------------------------------


@contextmanager
def whole_values(path):
    """Let csv read a value of any length, so that one too long for VALUE_LENGTH rejects its
    row (with its line) instead of stopping the whole file. The limit is global: restored."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        size = 0  # open() says why
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, size))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


class Lines:
    """The file's lines for csv.reader, one at a time; `next` (the index of the next line
    given) may be moved back to read lines again."""

    def __init__(self, lines):
        self.lines, self.next = lines, 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.next >= len(self.lines):
            raise StopIteration
        self.next += 1
        return self.lines[self.next - 1]


def read_csv(path):
    """(header -> column index, [(line, values, problem)]) with the required columns found.
    `problem` is why the row cannot be read as one (None when it can): its row alone is
    rejected.

    Raises CommandError for a missing, unreadable or wrongly shaped file.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            lines = Lines(list(file))  # split where csv splits them: \n, \r\n or \r
    except FileNotFoundError as exc:
        raise CommandError(f"No such file: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read {path} as UTF-8 CSV: {exc}") from exc
    rows = []
    with whole_values(path):
        reader = csv.reader(lines)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise CommandError(f"Cannot read {path} as UTF-8 CSV: line 1: {exc}") from exc
        if not header:
            raise CommandError(f"{path} is empty: expected a header row.")
        if lines.next > 1:
            raise CommandError(
                f"{path}: the header runs on to line {lines.next}: an unclosed quote in it?"
            )
        positions = header_positions(path, header)
        # How a row starts when the PSTW ID comes first, as in every snapshot so far.
        row_start = ROW_START if positions[key(COLUMNS["pstw_id"])] == 0 else None
        while True:
            first = lines.next
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                rows.append((first + 1, [], f"cannot be read as CSV: {exc}"))
                continue
            if not values:
                continue  # csv skips nothing itself; a blank line is no row
            problem = None
            if len(values) != len(header):
                problem = f"{len(values)} values where the header has {len(header)}"
            elif lines.next - first > 1 and row_start and any(map(row_start.search, values)):
                problem = "a value holds a line that starts as a row does"
            if problem and lines.next - first > 1:
                # A quote that is never closed (or closed too late) makes csv read the rows
                # after it as part of this one: they are read again, as rows.
                problem += (
                    f": a quoted value runs on to line {lines.next} (a closing quote "
                    f"missing?); lines {first + 2} to {lines.next} are read again as rows"
                )
                lines.next = first + 1
            rows.append((first + 1, values, problem))
    return positions, rows


def header_positions(path, header):
    """{column name key: index} of the header, refusing one that lacks a column or has one
    twice: which of the two to read cannot be guessed."""
    found = defaultdict(list)
    for index, name in enumerate(header):
        found[key(name)].append(index)
    wanted = [*COLUMNS.values(), *OUTCOME_COLUMNS]
    missing = [name for name in wanted if key(name) not in found]
    if missing:
        raise CommandError(
            f"{path} is not a Public Sector Tech Watch case list: missing column(s) "
            + ", ".join(f"“{name}”" for name in missing)
            + "."
        )
    for name in wanted:
        indexes = found[key(name)]
        if len(indexes) > 1:
            numbers = [str(index + 1) for index in indexes]
            raise CommandError(
                f"{path}: the column “{name}” is in the header {len(indexes)} times (columns "
                f"{', '.join(numbers[:-1])} and {numbers[-1]}): which to read cannot be told. "
                "Rename or remove all but one."
            )
    return {name: indexes[0] for name, indexes in found.items()}


class Importer:
    """Imports rows into the open transaction; one instance per run."""

    def __init__(self, *, publish=False, progress=None):
        self.publish = publish
        self.progress = progress or (lambda done, total: None)
        self.result = Result()

    # ---- reference data, loaded once ----------------------------------------------------

    def load(self):
        self.themes = {t.slug: t for t in Theme.objects.all()}
        self.outcomes = {o.slug: o for o in Outcome.objects.all()}
        self.drivers = {d.slug: d for d in Driver.objects.all()}
        needed = [
            *(f"driver {slug}" for slug in DRIVERS if slug not in self.drivers),
            *(
                f"theme {slug}"
                for slug in {s for slugs in TECHNOLOGY_THEMES.values() for s in slugs}
                if slug not in self.themes and slug not in NEW_THEMES
            ),
            *(
                f"outcome {slug}"
                for slug in set(OUTCOME_COLUMNS.values())
                if slug not in self.outcomes and slug not in NEW_OUTCOMES
            ),
        ]
        missing = sorted(needed)
        if missing:
            raise CommandError(
                f"Vocabulary terms missing: {', '.join(missing)}. Load the taxonomies first "
                "(manage.py loaddata fixtures/taxonomies.json)."
            )
        self.sectors = {}
        for sector in Sector.objects.all():
            self.sectors[key(sector.name)] = sector.pk
            if sector.cofog_code:
                self.sectors[sector.cofog_code] = sector.pk
        self.places = {(str(p.country), p.region): p for p in Place.objects.all()}
        self.organisations = {}  # (name key, country) -> Organisation
        self.organisations_named = defaultdict(list)  # name key -> [Organisation]
        self.organisation_slugs = set()
        for organisation in Organisation.objects.all():
            self.remember_organisation(organisation)
        self.slugs = set(Initiative.objects.values_list("slug", flat=True))
        self.load_existing()

    def load_existing(self):
        """Every imported record with what the comparison and the history need, in a
        fixed number of queries."""
        imported = Q(initiative__pstw_id__gt="")
        records = Initiative.objects.filter(pstw_id__gt="").defer("search_vector")
        self.existing = {i.pstw_id: i for i in records}
        by_pk = {i.pk: i for i in self.existing.values()}
        self.related = {pk: defaultdict(list) for pk in by_pk}
        terms = {
            "themes": {t.pk: t for t in self.themes.values()},
            "outcomes": {o.pk: o for o in self.outcomes.values()},
            "drivers": {d.pk: d for d in self.drivers.values()},
            "barriers": {b.pk: b for b in Barrier.objects.all()},
            "places": {p.pk: p for p in self.places.values()},
        }
        for name, by_id in terms.items():
            through, target = self.through(name)
            links = through.objects.filter(imported).values_list("initiative_id", target)
            for initiative_id, term_id in links:
                self.related[initiative_id][name].append(by_id[term_id])
        for name, model in (
            ("sources", Source),
            ("partnerships", Partnership),
            ("metrics", Metric),
        ):
            for item in model.objects.filter(imported).order_by("pk"):
                self.related[item.initiative_id][name].append(item)

    @staticmethod
    def through(name):
        """The link model of a many-to-many field and its column naming the term."""
        m2m = Initiative._meta.get_field(name)
        return m2m.remote_field.through, f"{m2m.m2m_reverse_field_name()}_id"

    def remember_organisation(self, organisation):
        name = key(organisation.name)
        self.organisations.setdefault((name, str(organisation.country)), organisation)
        self.organisations_named[name].append(organisation)
        self.organisation_slugs.add(organisation.slug)

    # ---- the run ------------------------------------------------------------------------

    def run(self, positions, rows):
        self.load()
        self.result.rows = len(rows)
        planned = self.plan(positions, rows)
        self.prepare(planned)
        # Tag links of every row, saved together at the end: four statements instead of four
        # a row (on PostgreSQL each statement also bumps the catalogue version). They cannot
        # fail on their own: the records and terms they join are already saved.
        self.links = defaultdict(list)
        self.database_errors = 0
        for done, row in enumerate(planned, start=1):
            if row.mapped:
                self.import_row(row)
            if done % PROGRESS_EVERY == 0 or done == len(planned):
                self.progress(done, len(planned))
        for name, links in self.links.items():
            through, column = self.through(name)
            through.objects.bulk_create(
                [through(initiative_id=pk, **{column: term}) for pk, term in links],
                batch_size=1000,
            )
        self.result.rejected.sort(key=lambda rejection: rejection.line)
        if self.database_errors:
            # Organisations made for rows the database then refused.
            Organisation.objects.filter(
                pk__in=[o.pk for o in self.new_organisations], led_initiatives__isnull=True
            ).delete()
        return self.result

    def plan(self, positions, rows):
        """Every row mapped, or rejected when it cannot make a record."""
        planned, first_line = [], {}
        for line, values, problem in rows:

            def value(name, values=values):
                index = positions[key(name)]
                text = values[index] if index < len(values) else ""
                if "\x00" in text:
                    # PostgreSQL's text cannot hold it, and nothing in a case list needs it.
                    raise RowRejected(f"NUL character in “{name}”")
                if len(text) > VALUE_LENGTH:
                    raise RowRejected(
                        f"“{name}” is {len(text):,} characters, more than the "
                        f"{VALUE_LENGTH:,} a value may have"
                    )
                return text

            row = PlannedRow(line, "")

            def warn(kind, message, row=row):
                row.warnings.append(RowWarning(row.line, row.pstw_id, kind, message))

            try:
                row.pstw_id = clean(value(COLUMNS["pstw_id"]))
                if problem:
                    raise RowRejected(problem)
                match = PSTW_ID.fullmatch(row.pstw_id)
                if not row.pstw_id:
                    raise RowRejected("no PSTW ID")
                if not match:
                    raise RowRejected(f"PSTW ID {row.pstw_id!r} is not of the form PSTW-123")
                row.pstw_id = f"PSTW-{int(match[1])}"
                if row.pstw_id in first_line:
                    raise RowRejected(
                        f"duplicate PSTW ID (first on line {first_line[row.pstw_id]})"
                    )
                first_line[row.pstw_id] = line
                row.mapped = self.map_row(value, row.pstw_id, warn)
            except RowRejected as exc:
                self.result.rejected.append(Rejection(line, row.pstw_id, str(exc)))
            planned.append(row)
        return planned

    def prepare(self, planned):
        """Find or make the organisations, places and vocabulary terms the rows need, before
        any record: new organisations in one statement instead of one each."""
        self.new_organisations = []
        for row in planned:
            if row.mapped:
                row.organisation = self.organisation(row.mapped.organisation)
                for slug in row.mapped.themes:
                    self.term(Theme, self.themes, slug, NEW_THEMES)
                for slug in row.mapped.outcomes:
                    self.term(Outcome, self.outcomes, slug, NEW_OUTCOMES)
                for country, region in row.mapped.places:
                    self.place(country, region)
        refused = self.save_organisations()
        for row in planned:
            if row.mapped and row.organisation.pk is None:
                reason = f"database error saving its organisation: {refused[id(row.organisation)]}"
                self.result.rejected.append(Rejection(row.line, row.pstw_id, reason))
                row.mapped = None

    def save_organisations(self):
        """Save the new organisations, in one statement when the database allows. Outside
        the rows' savepoints: should the database refuse one, each is saved in its own, and
        {id(organisation): why} says which it refused (their rows are rejected, alone)."""
        try:
            with transaction.atomic():
                if connection.features.can_return_rows_from_bulk_insert:
                    Organisation.objects.bulk_create(self.new_organisations)
                else:
                    for organisation in self.new_organisations:
                        organisation.save()
            return {}
        except DatabaseError:
            pass
        refused = {}
        for organisation in self.new_organisations:
            organisation.pk = None  # any given by the statement rolled back
            try:
                with transaction.atomic():
                    organisation.save(force_insert=True)
            except DatabaseError as exc:
                organisation.pk = None
                refused[id(organisation)] = first_line(exc)
        return refused

    def import_row(self, row):
        self.row_links = []
        try:
            with (
                transaction.atomic(),
                reversion.create_revision(manage_manually=True, atomic=False),
            ):
                outcome = self.write(row.mapped, row.organisation)
        except DatabaseError as exc:
            self.database_errors += 1
            self.result.rejected.append(
                Rejection(row.line, row.pstw_id, f"database error: {first_line(exc)}")
            )
            return
        for name, pk, term in self.row_links:
            self.links[name].append((pk, term))
        self.result.warnings.extend(row.warnings)
        setattr(self.result, outcome, getattr(self.result, outcome) + 1)

    # ---- mapping: one row to plain values, no database ----------------------------------

    def map_row(self, value, pstw_id, warn):
        title = clean(value(COLUMNS["name"]))
        if not title:
            raise RowRejected("no name")
        if len(title) > TITLE_LENGTH:
            warn("title", f"name longer than {TITLE_LENGTH} characters; shortened")
            title = shorten(title, TITLE_LENGTH)
        organisation_text = clean(value(COLUMNS["organisation"])).rstrip(" ,;")
        if not organisation_text:
            raise RowRejected("no responsible organisation")

        description = value(COLUMNS["description"])
        summary = shorten(clean(description), SUMMARY_LENGTH)
        approach = clean_text(description)
        if not summary:
            warn("description", "no description: summary left blank (publishing needs one)")

        named = clean(value(COLUMNS["country"]))
        country = country_code(named) if named else ""
        nuts_code, region, nuts_country = self.map_nuts(value(COLUMNS["nuts"]), country, warn)
        if not country:
            said = f"country {named!r} not recognised" if named else "no country"
            if nuts_country and countries.name(nuts_country):
                country = nuts_country
                warn("country", f"{said}; taken from the NUTS code ({country})")
            else:
                warn("country", f"{said}; no place given")

        organisation, full_text = self.map_organisation(
            organisation_text, value(COLUMNS["category"]), country, warn
        )
        if full_text:
            approach += (
                f"\n\nResponsible organisation, as listed in {DATASET}: {organisation_text}"
            ).lstrip()

        website, website_source = self.map_website(value(COLUMNS["website"]), warn)
        sources = [
            SourceData(
                f"{DATASET}, case {pstw_id} ({DATASET_LICENCE})",
                DATASET_URL,
                DATASET_PUBLISHER,
                self.map_date(value(COLUMNS["updated"]), warn),
            ),
            *website_source,
        ]
        for source in self.map_sources(value(COLUMNS["source"]), warn):
            if source not in sources:
                sources.append(source)

        start_year = self.map_year(value(COLUMNS["start_year"]), "start year", warn)
        end_year = self.map_year(value(COLUMNS["end_year"]), "end year", warn)
        if start_year and end_year and end_year < start_year:
            warn("year", f"end year {end_year} is before start year {start_year}; left blank")
            end_year = None

        return Mapped(
            pstw_id=pstw_id,
            title=title,
            summary=summary,
            approach=approach,
            website=website,
            nuts_code=nuts_code,
            stage=self.lookup(
                STAGES,
                value(COLUMNS["status"]),
                "status",
                warn,
                "stage not stated (left blank)",
            ),
            start_year=start_year,
            end_year=end_year,
            collaboration_type=self.map_collaboration(value(COLUMNS["collaboration"]), warn),
            funding=self.lookup(FUNDING, value(COLUMNS["funding"]), "funding", warn) or "",
            sector_id=self.map_sector(value(COLUMNS["cofog"]), warn),
            organisation=organisation,
            places=[(country, region)] if country else [],
            themes=self.map_themes(value, warn),
            outcomes=self.map_outcomes(value, warn),
            drivers=list(DRIVERS),
            sources=sources,
        )

    @staticmethod
    def lookup(table, raw, kind, warn, otherwise="left blank"):
        found = table.get(key(raw))
        if found is None and clean(raw):
            warn(kind, f"{kind} {clean(raw)!r} not recognised; {otherwise}")
        return found

    def map_collaboration(self, raw, warn):
        value = re.sub(r"\s*\(.*\)\s*$", "", key(raw))
        found = COLLABORATION_TYPES.get(value)
        if found is None and value:
            warn("collaboration", f"collaboration type {clean(raw)!r} not recognised; left blank")
        return found or ""

    def map_nuts(self, raw, country, warn):
        """(code to store, UK region, country of the code) from a NUTS 2021 code."""
        code = clean(raw).upper().replace(" ", "")
        if not code or code in NUTS_BLANK:
            return "", "", ""
        code = NUTS_COUNTRY_ALIASES.get(code, code)
        if not re.fullmatch(r"[A-Z]{2}[0-9A-Z]{0,3}", code) or len(code) > NUTS_LENGTH:
            warn("nuts", f"NUTS code {clean(raw)!r} not recognised; ignored")
            return "", "", ""
        nuts_country = NUTS_TO_ISO.get(code[:2], code[:2])
        if country and nuts_country != country:
            if len(code) == 2:
                warn("nuts", f"NUTS code {code} disagrees with the country {country}; ignored")
            else:
                warn("nuts", f"NUTS code {code} is not in {country}; ignored")
            return "", "", nuts_country
        if len(code) == 2:
            return "", "", nuts_country
        region = UK_REGIONS.get(code[:3], "") if nuts_country == "GB" else ""
        return code, region, nuts_country

    def map_organisation(self, text, category, country, warn):
        """(OrganisationData, whether the name is shorter than the text)."""
        name = text
        if len(name) > ORGANISATION_LENGTH:
            # A list of bodies, or a paragraph about one: the first body named leads.
            first = FIRST_BODY_ENDS.split(name, maxsplit=1)[0]
            name = first.strip(" ,;:.") or shorten(name, ORGANISATION_LENGTH)
            if len(name) > ORGANISATION_LENGTH:
                name = shorten(name, ORGANISATION_LENGTH)
            warn(
                "organisation",
                f"responsible organisation is {len(text)} characters: {name!r} leads, "
                "the full text is kept in the approach",
            )
        kind = ORGANISATION_KINDS.get(key(category).replace("-", " "))
        if kind is None:
            kind = FALLBACK_KIND
            said = (
                f"category {clean(category)!r} not recognised" if clean(category) else "no category"
            )
            warn(
                "category",
                f"organisation {said}: a new organisation is given the kind "
                f"{FALLBACK_KIND.label.lower()}",
            )
        if kind == OrganisationKind.INTERNATIONAL_BODY or country in NOT_A_COUNTRY:
            country = ""
        return OrganisationData(name, kind, country), name != text

    def map_website(self, raw, warn):
        """(website, [text source]) from the Website column."""
        value = clean(raw)
        if not value:
            return "", []
        if is_url(value):
            return value, []
        tokens = BROKEN_URL.sub(" ", value).split()
        urls = [url for url in map(trim_url, tokens) if is_url(url)]
        as_text = [SourceData(shorten(f"Website as listed: {value}", SOURCE_TITLE_LENGTH))]
        if not urls:
            warn("website", f"website {shorten(value, 80)!r} is not a valid URL; kept as text")
            return "", as_text
        if len(urls) > 1 or len(tokens) > 1:
            warn("website", "several URLs: the first is the website, the whole value kept as text")
        else:
            warn("website", "text around the URL: the URL is the website, all kept as text")
        return urls[0], as_text

    def map_sources(self, raw, warn):
        """Sources from the Source column: one per valid URL (titled by the text around it,
        else by its domain) and one per piece of text that is not a URL."""
        found = []
        for line in (raw or "").splitlines():
            line = clean(line)
            if not line:
                continue
            broken = [match.span() for match in BROKEN_URL.finditer(line)]
            if broken:
                warn("source", "URL broken by the export ('Proof of Concept' in it); kept as text")
            urls, pieces, position = [], [], 0
            for match in URL.finditer(line):
                url = trim_url(match.group())
                if any(start <= match.start() < end for start, end in broken):
                    continue
                if not is_url(url):
                    warn("source", f"{shorten(url, 80)!r} is not a valid URL; kept as text")
                    continue
                pieces.append(line[position : match.start()])
                position = match.start() + len(url)
                urls.append(url)
            pieces.append(line[position:])
            text = shorten(tidy(" ".join(pieces)), SOURCE_TITLE_LENGTH)
            if len(urls) == 1:
                if len(text.split()) >= 2:
                    title = text
                elif text:
                    title = f"{domain(urls[0])} ({text})"
                else:
                    title = domain(urls[0])
                found.append(SourceData(shorten(title, SOURCE_TITLE_LENGTH), urls[0]))
                continue
            found.extend(SourceData(domain(url), url) for url in urls)
            if re.search(r"\w", text):
                found.append(SourceData(text))
        unique = []
        for source in found:
            if source not in unique and not (
                source.url and any(source.url == other.url for other in unique)
            ):
                unique.append(source)
        return unique

    @staticmethod
    def map_date(raw, warn):
        try:
            return parse_date(raw)
        except ValueError:
            warn("date", f"date updated {clean(raw)!r} is not DD/MM/YYYY; left blank")
            return None

    @staticmethod
    def map_year(raw, label, warn):
        value = clean(raw)
        if not value:
            return None
        if not re.fullmatch(r"[0-9]{4}", value):
            warn("year", f"{label} {value!r} is not a year; left blank")
            return None
        year = int(value)
        if not MIN_YEAR <= year <= MAX_YEAR:
            warn("year", f"{label} {year} is not between {MIN_YEAR} and {MAX_YEAR}; left blank")
            return None
        return year

    def map_sector(self, raw, warn):
        value = key(raw)
        if not value:
            return None
        code = re.match(r"([0-9]{1,2})\b", value)
        found = self.sectors.get(value) or (code and self.sectors.get(code[1].zfill(2)))
        if not found:
            warn("sector", f"COFOG function {clean(raw)!r} not recognised; no sector")
        return found or None

    def map_themes(self, value, warn):
        slugs = []
        for column in ("technology", "secondary_technology"):
            raw = value(COLUMNS[column])
            if not clean(raw):
                continue
            found = TECHNOLOGY_THEMES.get(key(raw))
            if found is None:
                warn("technology", f"technology {clean(raw)!r} not recognised: emerging tech")
                found = UNKNOWN_TECHNOLOGY_THEMES
            slugs += [slug for slug in found if slug not in slugs]
        return slugs

    def map_outcomes(self, value, warn):
        slugs = []
        for column, slug in OUTCOME_COLUMNS.items():
            flag = key(value(column))
            if flag in FLAG_SET:
                if slug not in slugs:
                    slugs.append(slug)
            elif flag not in FLAG_UNSET:
                warn("flag", f"{column!r} flag {clean(value(column))!r} is not x or blank; unset")
        return slugs

    # ---- reference data the rows need, found or made before the records ----------------

    def term(self, model, table, slug, new_terms):
        if slug not in table:
            name, description = new_terms[slug]
            term, created = model.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description}
            )
            table[slug] = term
            if created:
                self.result.new_terms.append(f"{model._meta.verbose_name} {slug}")
        return table[slug]

    def place(self, country, region):
        if (country, region) not in self.places:
            place, _ = Place.objects.get_or_create(country=country, region=region)
            self.places[country, region] = place
        return self.places[country, region]

    def organisation(self, data):
        name = key(data.name)
        found = self.organisations.get((name, data.country))
        if found:
            return found
        named = self.organisations_named.get(name, [])
        countryless = [o for o in named if not o.country]
        if countryless:
            return countryless[0]
        if not data.country and len(named) == 1:
            return named[0]
        base = slugify(data.name)[:SLUG_LENGTH].strip("-") or "organisation"
        slug = base
        if slug in self.organisation_slugs and data.country:
            slug = f"{base}-{data.country.lower()}"
        number = 2
        while slug in self.organisation_slugs:
            slug, number = f"{base}-{number}", number + 1
        organisation = Organisation(name=data.name, slug=slug, kind=data.kind, country=data.country)
        self.remember_organisation(organisation)
        self.new_organisations.append(organisation)  # saved by prepare()
        return organisation

    # ---- writing ------------------------------------------------------------------------

    def write(self, mapped, organisation):
        """Create or update the record; 'created', 'updated' or 'unchanged'."""
        fields = {
            "title": mapped.title,
            "summary": mapped.summary,
            "approach": mapped.approach,
            "website": mapped.website,
            "nuts_code": mapped.nuts_code,
            "start_year": mapped.start_year,
            "end_year": mapped.end_year,
            "collaboration_type": mapped.collaboration_type,
            "funding": mapped.funding,
            "sector_id": mapped.sector_id,
            "lead_organisation_id": organisation.pk,
        }
        if mapped.stage is not None:
            fields["stage"] = mapped.stage
        tags = {
            "themes": [self.term(Theme, self.themes, s, NEW_THEMES) for s in mapped.themes],
            "outcomes": [
                self.term(Outcome, self.outcomes, s, NEW_OUTCOMES) for s in mapped.outcomes
            ],
            "drivers": [self.drivers[s] for s in mapped.drivers],
            "places": [self.place(country, region) for country, region in mapped.places],
        }

        initiative = self.existing.get(mapped.pstw_id)
        if initiative is None:
            initiative = Initiative(
                pstw_id=mapped.pstw_id,
                slug=self.new_slug(mapped.title, mapped.pstw_id),
                status=Status.DRAFT,
                **fields,
            )
            initiative.save()
            related = defaultdict(list)
            changed = True
            comment = f"Imported from {DATASET} ({mapped.pstw_id})"
        else:
            related = self.related[initiative.pk]
            changed_fields = [f for f, value in fields.items() if getattr(initiative, f) != value]
            for name in changed_fields:
                setattr(initiative, name, fields[name])
            if changed_fields:
                initiative.save(update_fields=[*changed_fields, "updated_at"])
            changed = bool(changed_fields)
            comment = f"Updated from {DATASET} ({mapped.pstw_id})"

        # Tags are only ever added: an editor's stay. Saved at the end of the run (see run()).
        for name, terms in tags.items():
            have = {term.pk for term in related[name]}
            new = [term for term in terms if term.pk not in have]
            if new:
                self.row_links += [(name, initiative.pk, term.pk) for term in new]
                related[name] = [*related[name], *new]
                changed = True
        changed = self.write_sources(initiative, mapped.sources, related) or changed

        may_publish = self.publish and initiative.status == Status.DRAFT
        if changed or may_publish:
            remember_related(initiative, related)
        published = may_publish and self.try_publish(initiative)
        if published and not changed:
            comment = f"Published by the {DATASET} import ({mapped.pstw_id})"
        elif published:
            comment += " and published"
        if changed or published:
            reversion.add_to_revision(initiative)
            reversion.set_comment(comment)
            reversion.add_meta(
                HistoryEntry,
                initiative_pk=initiative.pk,
                action=HistoryEntry.Action.PUBLISHED
                if published and not changed
                else HistoryEntry.Action.IMPORTED,
                comment=comment,
            )
        if mapped.pstw_id not in self.existing:
            return "created"
        return "updated" if changed else "unchanged"

    def write_sources(self, initiative, wanted, related):
        """Make the importer's sources those of the row, keeping any that are unchanged (a
        metric may cite them) and every other source. Whether anything changed."""
        mine = [s for s in related["sources"] if is_imported_source(s)]
        keep, missing = [], list(wanted)
        for source in mine:
            data = SourceData.of(source)
            if data in missing:
                missing.remove(data)
                keep.append(source)
        stale = [source for source in mine if source not in keep]
        if stale:
            Source.objects.filter(pk__in=[s.pk for s in stale]).delete()
        created = []
        if missing:
            created = Source.objects.bulk_create(
                [
                    Source(
                        initiative=initiative,
                        title=s.title,
                        url=s.url,
                        publisher=s.publisher,
                        published_on=s.published_on,
                    )
                    for s in missing
                ]
            )
        if stale or created:
            related["sources"] = [s for s in related["sources"] if s not in stale] + created
        return bool(stale or created)

    def try_publish(self, initiative):
        problems = publication_problems(initiative)
        if problems:
            self.result.drafts_not_published += 1
            self.result.not_published.update(problems.values())
            return False
        initiative.status = Status.PUBLISHED
        initiative.save(update_fields=["status", "published_at", "updated_at"])
        self.result.published += 1
        return True

    def new_slug(self, title, pstw_id):
        base = slugify(title)[:SLUG_LENGTH].strip("-") or slugify(pstw_id)
        slug, number = base, 2
        while slug in self.slugs:
            slug, number = f"{base}-{number}", number + 1
        self.slugs.add(slug)
        return slug


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def is_imported_source(source):
    """Whether the importer made this source (and so may replace it)."""
    return source.publisher == CITED_VIA or (
        source.publisher == DATASET_PUBLISHER and source.url == DATASET_URL
    )


def remember_related(initiative, related):
    """Give the record its related objects as if prefetched, so that the history (which
    serialises the tags and follows sources, partnerships and metrics) and the publication
    check read them from memory instead of with a query each."""
    initiative._prefetched_objects_cache = {}
    names = ("themes", "outcomes", "drivers", "barriers", "places")
    for name in (*names, "sources", "partnerships", "metrics"):
        initiative._prefetched_objects_cache[name] = prefetched(initiative, name, related[name])


def prefetched(initiative, name, objects):
    queryset = getattr(initiative, name).get_queryset()
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    return queryset


# --------------------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        f"Import the {DATASET} case list (CSV) as draft initiatives, matched on PSTW ID so "
        "a newer snapshot updates them. Rejected rows are listed with their line and reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The case list, e.g. pstw_dataset.csv.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Do everything, report it, then roll it all back.",
        )
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish new records, and existing drafts, that pass the publication check.",
        )

    def handle(self, *args, path, dry_run=False, publish=False, **options):
        self.verbosity = options["verbosity"]
        positions, rows = read_csv(path)
        if self.verbosity >= 1:
            self.stdout.write(f"Importing {path.name} ({len(rows):,} rows)...")
        started = time.monotonic()
        importer = Importer(publish=publish, progress=self.show_progress(started))
        with transaction.atomic():
            result = importer.run(positions, rows)
            if dry_run:
                transaction.set_rollback(True)
        result.seconds = time.monotonic() - started
        self.result = result
        self.report(result, path.name, dry_run, publish)

    def show_progress(self, started):
        def progress(done, total):
            if self.verbosity >= 1:
                elapsed = time.monotonic() - started
                self.stdout.write(f"  {done:,} / {total:,} rows ({elapsed:.1f} s)")

        return progress

    def report(self, result, name, dry_run, publish):
        if result.new_terms and self.verbosity >= 1:
            self.stdout.write("New vocabulary terms: " + ", ".join(result.new_terms) + ".")
        if result.warnings and self.verbosity >= 1:
            self.stdout.write(self.style.WARNING(f"Warnings ({len(result.warnings):,}):"))
            if self.verbosity >= 2 or len(result.warnings) <= LIST_WARNINGS_UP_TO:
                for warning in result.warnings:
                    self.stdout.write(f"  {warning}")
            else:
                by_kind = Counter(warning.kind for warning in result.warnings)
                for kind, count in by_kind.most_common():
                    example = next(w for w in result.warnings if w.kind == kind)
                    self.stdout.write(f"  {kind}: {count:,} (e.g. {example})")
                self.stdout.write("  Run with -v 2 to list them all.")
        if result.rejected:
            self.stdout.write(self.style.ERROR(f"Rejected rows ({len(result.rejected):,}):"))
            for rejection in result.rejected:
                self.stdout.write(f"  {rejection}")
        if publish:
            would = "would be " if dry_run else ""
            self.stdout.write(
                f"{result.published:,} {would}published; "
                f"{result.drafts_not_published:,} left as drafts"
                + (":" if result.not_published else ".")
            )
            for problem, count in result.not_published.most_common():
                self.stdout.write(f"  {count:,}: {problem}")
        rows, took = f"({result.rows:,} rows)", f"in {result.seconds:.1f} s"
        if dry_run:
            published = f"; would publish {result.published:,}" if publish else ""
            line = (
                f"Dry run of {name}: would create {result.created:,}, update {result.updated:,}, "
                f"leave {result.unchanged:,} unchanged and reject {len(result.rejected):,} "
                f"{rows} {took}{published}; nothing was written."
            )
        else:
            published = f"; {result.published:,} published" if publish else ""
            line = (
                f"Imported {name}: {result.created:,} created, {result.updated:,} updated, "
                f"{result.unchanged:,} unchanged, {len(result.rejected):,} rejected "
                f"{rows} {took}{published}."
            )
        self.stdout.write(self.style.SUCCESS(line))
