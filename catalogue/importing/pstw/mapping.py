"""Mapping: one row of the case list to the values of its record (a Mapped), in the
catalogue's terms. Pure: no database reads or writes (the sectors are given)."""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django_countries import countries

from catalogue.importing.pstw.reading import (
    clean,
    clean_text,
    country_code,
    domain,
    is_url,
    key,
    parse_date,
    shorten,
    tidy,
    trim_url,
)
from catalogue.importing.pstw.tables import (
    BROKEN_URL,
    CITED_VIA,
    COLLABORATION_TYPES,
    COLUMNS,
    DATASET,
    DATASET_LICENCE,
    DATASET_PUBLISHER,
    DATASET_URL,
    DRIVERS,
    FALLBACK_KIND,
    FIRST_BODY_ENDS,
    FLAG_SET,
    FLAG_UNSET,
    FUNDING,
    NOT_A_COUNTRY,
    NUTS_BLANK,
    NUTS_COUNTRY_ALIASES,
    NUTS_LENGTH,
    NUTS_TO_ISO,
    ORGANISATION_KINDS,
    ORGANISATION_LENGTH,
    OUTCOME_COLUMNS,
    PROGRESS_EVERY,
    PSTW_ID,
    SOURCE_TITLE_LENGTH,
    STAGES,
    SUMMARY_LENGTH,
    TECHNOLOGY_THEMES,
    TITLE_LENGTH,
    UK_REGIONS,
    UNKNOWN_TECHNOLOGY_THEMES,
    URL,
    VALUE_LENGTH,
)
from catalogue.models import MAX_YEAR, MIN_YEAR, OrganisationKind


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
    organisation: object = None  # its Organisation, found or made when writing
    warnings: list = field(default_factory=list)


class Mapper:
    """Maps rows; `sectors` is {sector name key or COFOG code: sector id}."""

    def __init__(self, sectors=None):
        self.sectors = sectors or {}

    def plan(self, positions, rows, progress=None):
        """(every row as a PlannedRow, [Rejection]): each row mapped, or rejected (its
        `mapped` None) when it cannot make a record. progress("mapping rows", done, total)
        is called as they are."""
        planned, rejected, first_line = [], [], {}
        for done, (line, values, problem) in enumerate(rows, start=1):
            if progress and (done % PROGRESS_EVERY == 0 or done == len(rows)):
                progress("mapping rows", done, len(rows))

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
                rejected.append(Rejection(line, row.pstw_id, str(exc)))
            planned.append(row)
        return planned, rejected

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
