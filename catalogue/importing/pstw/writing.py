"""Writing: the mapped rows into the database, in the open transaction. One savepoint and
one django-reversion revision per record; new organisations saved in one statement first and
the tag links of all records at the end (see Importer.run)."""

from collections import defaultdict

import reversion
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils.text import slugify

from catalogue.importing.pstw.mapping import Mapper, Rejection, Result, SourceData
from catalogue.importing.pstw.reading import key
from catalogue.importing.pstw.tables import (
    CITED_VIA,
    DATASET,
    DATASET_PUBLISHER,
    DATASET_URL,
    DRIVERS,
    NEW_OUTCOMES,
    NEW_THEMES,
    OUTCOME_COLUMNS,
    PROGRESS_EVERY,
    SLUG_LENGTH,
    TECHNOLOGY_THEMES,
)
from catalogue.models import (
    Barrier,
    Driver,
    HistoryEntry,
    Initiative,
    Metric,
    Organisation,
    Outcome,
    Partnership,
    Place,
    Sector,
    Source,
    Status,
    Theme,
)
from catalogue.workflow import publication_problems


class Importer:
    """Imports rows into the open transaction; one instance per run."""

    def __init__(self, *, publish=False, progress=None):
        self.publish = publish
        # progress(what, done, total): told as rows are mapped, then as they are written.
        self.progress = progress or (lambda what, done, total: None)
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
        planned, rejected = Mapper(self.sectors).plan(positions, rows, self.progress)
        self.result.rejected.extend(rejected)
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
                self.progress("importing rows", done, len(planned))
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
