"""The synthetic catalogue: published initiatives in bulk, with organisations, tags,
partnerships, sources, quotes and metrics, drawn from the word lists and weights of this
package. Deterministic for a given seed (see Generator.plan_batch)."""

import math
import multiprocessing
import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
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
from catalogue.synthetic.draws import capitalise, distinct, draw, how_many, weighted, zipf
from catalogue.synthetic.organisations import (
    FOREIGN_NAMES,
    ORGANISATION_KINDS,
    PARTNER_ROLES,
    ROLE_DESCRIPTIONS,
    UK_ONLY,
    UK_PLACE_WEIGHTS,
)
from catalogue.synthetic.services import DEFAULT_SERVICES, SECTOR_WEIGHTS, SERVICES
from catalogue.synthetic.templates import (
    APPROACHES,
    BASELINES,
    CHALLENGES,
    LESSONS,
    METRICS,
    PERIODS,
    RESULTS,
    SOURCE_TITLES,
    SUMMARIES,
    TITLES,
)
from catalogue.synthetic.words import LOCALITIES, VOCABULARY
from catalogue.workflow import MEASURED_EVIDENCE_LEVEL

# Every slug made here starts with this and ends with a running number, so a second run can
# continue after the highest number and never collide with the first, or with real records.
SLUG_PREFIX = "synthetic-"
FIRST_YEAR, LAST_YEAR = 2000, 2026

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


class Generator:
    """Adds synthetic records to the catalogue; one instance per run. `say` is given the
    lines worth telling (a taxonomy fixture loaded)."""

    def __init__(self, seed=0, say=None):
        self.seed, self.rng = seed, random.Random(seed)
        self.say = say or (lambda line: None)
        self.now = timezone.now()

    def run(self, count, batch_size, progress=None):
        """Add `count` initiatives, `batch_size` to a transaction; progress(done, count) is
        called after each batch. (number of organisations made, Counter of rows by kind)."""
        progress = progress or (lambda done, total: None)
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
            done += created["initiatives"]
            # Whenever the catalogue has doubled: planned with statistics from when the tables
            # were small, the triggers' lookups scan whole tables, and slow down as they grow.
            if done + initial >= 2 * last_analyzed:
                self.analyze()
                last_analyzed = done + initial
            progress(done, count)

        # And the first benchmark queries are planned for the final row counts, rather than
        # waiting for autovacuum.
        self.analyze()
        return len(organisations), totals

    def analyze(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in [Organisation, *INSERT_ORDER]:
                    cursor.execute(f"ANALYZE {model._meta.db_table}")

    def load_taxonomies(self):
        vocabularies = (Theme, Driver, Outcome, Barrier, Sector, Place)
        if not all(model.objects.exists() for model in vocabularies):
            fixture = settings.BASE_DIR / "fixtures" / "taxonomies.json"
            self.say(f"Taxonomies missing; loading {fixture.name}...")
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
        # The workers find the generator in their forked copy of this module; they must not
        # share the parent's database connection.
        global forked_generator
        forked_generator = self
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
        return forked_generator.insert(forked_generator.plan_batch(*batch))
    finally:
        # Each batch on a fresh connection, so that none is left open when the pool ends.
        connection.close()
