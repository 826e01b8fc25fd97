from datetime import UTC, datetime, timedelta

import factory
from django.http import QueryDict
from django.utils import timezone

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


def term(model, slug):
    """Reference data is loaded once per session (tests/conftest.py); look it up by slug."""
    return model.objects.get(slug=slug)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"organisation-{n}")
    kind = Organisation.Kind.LOCAL_AUTHORITY
    country = "GB"


class InitiativeFactory(factory.django.DjangoModelFactory):
    """A published initiative with the minimum a published record has.

    Pass themes=["cloud", ...], drivers=[...], outcomes=[...], barriers=[...] as slugs and
    countries=["GB", ...] to tag it.
    """

    class Meta:
        model = Initiative
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Initiative {n}")
    slug = factory.Sequence(lambda n: f"initiative-{n}")
    summary = factory.LazyAttribute(lambda o: f"What {o.title} did and what it achieved.")
    lead_organisation = factory.SubFactory(OrganisationFactory)
    sector = factory.LazyFunction(lambda: term(Sector, "general-public-services"))
    status = Initiative.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    stage = Initiative.Stage.IMPLEMENTED
    start_year = 2020

    @factory.post_generation
    def themes(self, create, slugs):
        self.themes.set([term(Theme, slug) for slug in (slugs or ["digital-services"])])

    @factory.post_generation
    def drivers(self, create, slugs):
        self.drivers.set([term(Driver, slug) for slug in (slugs or ["technology"])])

    @factory.post_generation
    def outcomes(self, create, slugs):
        self.outcomes.set([term(Outcome, slug) for slug in (slugs or ["service-quality"])])

    @factory.post_generation
    def barriers(self, create, slugs):
        self.barriers.set([term(Barrier, slug) for slug in slugs or []])

    @factory.post_generation
    def countries(self, create, codes):
        self.places.set([Place.objects.get_or_create(country=c, region="")[0] for c in codes or []])

    @factory.post_generation
    def source(self, create, extracted):
        if extracted is not False:
            SourceFactory(initiative=self)


class DraftFactory(InitiativeFactory):
    status = Initiative.Status.DRAFT
    published_at = None


class PartnershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partnership

    initiative = factory.SubFactory(InitiativeFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Partnership.Role.DELIVERY_PARTNER


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    initiative = factory.SubFactory(InitiativeFactory)
    title = factory.Sequence(lambda n: f"Article {n}")
    publisher = "Example Publisher"
    url = "https://example.org/article"


class QuoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quote

    source = factory.SubFactory(SourceFactory)
    initiative = factory.SelfAttribute("source.initiative")
    text = "The council cut its administrative costs by 25%."
    locator = ""


class MetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Metric

    initiative = factory.SubFactory(InitiativeFactory)
    label = "Administrative costs"
    value = 25
    unit = "%"
    direction = Metric.Direction.DECREASE


def at(moment):
    return datetime.fromisoformat(moment).replace(tzinfo=UTC)


# -- catalogues built of them --------------------------------------------------------------


def tagged_catalogue(count):
    """Initiatives with several tags, places and partners each: what N+1 queries feed on."""
    initiatives = []
    for n in range(count):
        initiative = InitiativeFactory(
            themes=["cloud", "data-analytics", "open-data"],
            drivers=["technology", "crisis"],
            outcomes=["cost-savings", "service-quality"],
            barriers=["funding"],
            countries=["GB", "EE"],
            start_year=2010 + n % 10,
        )
        PartnershipFactory(initiative=initiative)
        PartnershipFactory(initiative=initiative, role="funder")
        MetricFactory(initiative=initiative)
        initiatives.append(initiative)
    return initiatives


def varied_initiatives(count=24):
    """Published initiatives differing in everything the list filters and sorts by, plus a
    draft, an archived and an in-review record tagged like them (never to be seen)."""
    council = OrganisationFactory(name="Anytown Council", kind="local-authority")
    ministry = OrganisationFactory(name="Ministry of Housing", kind="central-government")
    themes = ["cloud", "open-data", "data-analytics", "skills", "digital-services"]
    sectors = ["health", "general-public-services", "education"]
    stages = ["pilot", "implemented", "scaled"]
    now = timezone.now()
    created = []
    for n in range(count):
        created.append(
            InitiativeFactory(
                title=f"{['Housing', 'Benefits', 'Transport', 'Library'][n % 4]} project {n:02}",
                summary=["Repairs booked online.", "Housing data opened.", "Chatbot."][n % 3],
                lead_organisation=[council, ministry][n % 2],
                themes=[themes[n % 5], themes[(n + 2) % 5]],
                drivers=[["crisis"], ["technology"], ["crisis", "technology"]][n % 3],
                outcomes=[["cost-savings"], ["service-quality"]][n % 2],
                barriers=[[], ["funding"], ["skills-gap"]][n % 3],
                sector=term(Sector, sectors[n % 3]),
                stage=stages[n % 3],
                countries=[["GB"], ["EE"], ["GB", "FR"]][n % 3],
                start_year=2010 + n % 10,
                published_at=now - timedelta(days=n),
            )
        )
    for status in ("draft", "in-review", "archived"):
        DraftFactory(
            title=f"Hidden {status} housing project",
            status=status,
            lead_organisation=council,
            themes=["cloud"],
            countries=["GB"],
        )
    return created


# -- a random catalogue and random list queries (facet counts, the facet index) -------------

THEMES = ["cloud", "data-analytics", "open-data", "skills", "ai-automation"]
DRIVERS = ["technology", "crisis", "public-demand"]
OUTCOMES = ["cost-savings", "service-quality", "faster-services"]
BARRIERS = ["funding", "skills-gap"]
SECTORS = ["health", "education", "general-public-services"]
STAGES = ["pilot", "implemented", "scaled"]
COUNTRIES = ["GB", "EE", "FR"]
KINDS = ["local-authority", "central-government", "nhs-body"]
EVIDENCE = ["1", "2", "3", "4", "5"]
TYPES = ["enhancement", "mission", "adaptive", "anticipatory"]
MEASURED = ["yes", "no"]
YEARS = [str(year) for year in range(2010, 2025)]


def random_catalogue(rng, size=40):
    organisations = [OrganisationFactory(kind=kind) for kind in KINDS for _ in range(2)]
    for _ in range(size):
        initiative = InitiativeFactory(
            lead_organisation=rng.choice(organisations),
            themes=rng.sample(THEMES, rng.randint(1, 3)),
            drivers=rng.sample(DRIVERS, rng.randint(1, 2)),
            outcomes=rng.sample(OUTCOMES, rng.randint(1, 2)),
            barriers=rng.sample(BARRIERS, rng.randint(0, 2)),
            sector=term(Sector, rng.choice(SECTORS)),
            stage=rng.choice(STAGES),
            countries=rng.sample(COUNTRIES, rng.randint(1, 2)),
            start_year=rng.randint(2010, 2024),
            title=rng.choice(["Housing chatbot", "Data platform", "Skills academy"]),
            evidence_level=int(rng.choice(EVIDENCE)),
            innovation_type=rng.choice([*TYPES, ""]),
        )
        for _ in range(rng.choice([0, 0, 1, 2])):
            MetricFactory(initiative=initiative)
        if rng.random() < 0.1:
            initiative.start_year = None
            initiative.save()
    DraftFactory(themes=THEMES, drivers=DRIVERS)  # never counted


def random_query(rng):
    query = QueryDict(mutable=True)
    for name, values in [
        ("theme", THEMES),
        ("driver", DRIVERS),
        ("outcome", OUTCOMES),
        ("barrier", BARRIERS),
        ("sector", SECTORS),
        ("stage", STAGES),
        ("country", COUNTRIES),
        ("kind", KINDS),
        ("evidence", EVIDENCE),
        ("innovation_type", TYPES),
        ("measured", MEASURED),
    ]:
        if rng.random() < 0.35:
            query.setlist(name, rng.sample(values, rng.randint(1, 2)))
    if rng.random() < 0.3:
        query["year_from"] = str(rng.randint(2010, 2018))
    if rng.random() < 0.3:
        query["q"] = rng.choice(["housing", "data", "skills"])
    return query
