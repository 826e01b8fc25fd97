"""What the API shows of each record: what its public page shows, nothing internal.

Docstrings here become the schema's descriptions, so they speak to API users; notes for
maintainers are comments. Serializers read only what the views fetch (with_listing(),
with_detail(), prefetches), so no field costs a query per row.
"""

from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalogue.models import (
    MAX_YEAR,
    MIN_YEAR,
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
from catalogue.templatetags.catalogue import web_link
from catalogue.vocabularies import BY_MODEL, VOCABULARIES


@extend_schema_field(OpenApiTypes.URI)
class HtmlURLField(serializers.Field):
    """The absolute URL of the object's public page (its get_absolute_url)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return self.context["request"].build_absolute_uri(value.get_absolute_url())


@extend_schema_field(OpenApiTypes.URI)
class ApiURLField(serializers.Field):
    """The absolute URL of the object's API resource, found by slug."""

    def __init__(self, route, **kwargs):
        self.route = route
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        request = self.context["request"]
        return reverse(f"api:{self.route}-detail", kwargs={"slug": value.slug}, request=request)


@extend_schema_field(OpenApiTypes.URI)
class FilteredListURLField(serializers.Field):
    """The absolute URL of the API's initiative list filtered by this object."""

    def __init__(self, param, value_of=lambda obj: obj.slug, **kwargs):
        self.param, self.value_of = param, value_of
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        query = urlencode({self.param: self.value_of(value)})
        return reverse("api:initiative-list", request=self.context["request"]) + "?" + query


@extend_schema_field({"type": "string", "format": "uri", "nullable": True})
class WebLinkField(serializers.CharField):
    """A stored link, given only when it is http(s), as on the public pages."""

    def to_representation(self, value):
        return web_link(value) or None


def label_of(field):
    """The display label of a choice field: get_FOO_display()."""
    return serializers.CharField(source=f"get_{field}_display", help_text="Its label.")


def year(help_text):
    return serializers.IntegerField(
        min_value=MIN_YEAR, max_value=MAX_YEAR, allow_null=True, help_text=help_text
    )


class ReadOnlySerializer(serializers.ModelSerializer):
    """Every field read-only, hence always present: the schema marks them all required,
    which is what a client may rely on."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.read_only, field.required = True, False
        return fields


class ErrorSerializer(serializers.Serializer):
    """An error: one sentence, the parameters to blame when there are any, and the request id."""

    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Messages by parameter, e.g. {"year_from": ["Enter a whole number."]}.',
    )
    request_id = serializers.CharField(
        help_text="This request's id, also sent as the X-Request-ID header: quote it when "
        "reporting a problem."
    )


# -- references: the short form of a record inside another -----------------------------


class ReferenceSerializer(ReadOnlySerializer):
    """A reference to an object that many rows of one response share (a theme, a sector, a
    place, an organisation): drawn once per response and reused, since each costs several
    URL reversals. The memo lives in the response's serializer context, so it never outlives
    the response."""

    def to_representation(self, instance):
        memo = self.context.setdefault("_references", {})
        key = (type(self), instance.pk)
        if key not in memo:
            memo[key] = super().to_representation(instance)
        return memo[key]


class InitiativeLinkSerializer(ReadOnlySerializer):
    """A reference to a published initiative."""

    html_url = HtmlURLField()
    api_url = ApiURLField("initiative")

    class Meta:
        model = Initiative
        fields = ["slug", "title", "html_url", "api_url"]


class OrganisationLinkSerializer(ReferenceSerializer):
    """A reference to an organisation."""

    kind_label = label_of("kind")
    html_url = HtmlURLField()
    api_url = ApiURLField("organisation")

    name = serializers.CharField(
        source="display_name",
        help_text="Its name; for a body its source does not name, what the source calls it "
        "(“A city, not named in the source”).",
    )

    class Meta:
        model = Organisation
        fields = ["slug", "name", "unnamed", "kind", "kind_label", "html_url", "api_url"]


def term_fields(model):
    param = BY_MODEL[model].param
    return {
        "html_url": HtmlURLField(help_text="The public list of case studies with this term."),
        "api_url": ApiURLField(param),
        "initiatives_url": FilteredListURLField(
            param, help_text="The API's list of initiatives with this term."
        ),
    }


def term_link_serializer(model):
    """A taxonomy term inside an initiative: slug, name and where to find more."""
    extra = ["cofog_code"] if model is Sector else []
    fields = ["slug", "name", *extra, *term_fields(model)]
    return type(
        f"{model.__name__}LinkSerializer",
        (ReferenceSerializer,),
        {
            "__doc__": f"A reference to a {model._meta.verbose_name}: {model.__doc__}",
            "Meta": type("Meta", (), {"model": model, "fields": fields}),
            **term_fields(model),
        },
    )


TERM_LINKS = {v.model: term_link_serializer(v.model) for v in VOCABULARIES}


class PlaceSerializer(ReferenceSerializer):
    """A country, or a UK nation or region. A place has no resource of its own: html_url and
    api_url are the public and API lists of initiatives in its country."""

    name = serializers.CharField(source="__str__")
    country = serializers.CharField(source="country.code", help_text="ISO 3166-1 alpha-2 code.")
    country_name = serializers.CharField(source="country.name")
    region_label = label_of("region")
    html_url = HtmlURLField()
    api_url = FilteredListURLField("country", lambda place: place.country.code)

    class Meta:
        model = Place
        fields = [
            "name",
            "country",
            "country_name",
            "region",
            "region_label",
            "html_url",
            "api_url",
        ]


# -- initiatives ------------------------------------------------------------------------


class InitiativeSummarySerializer(ReadOnlySerializer):
    """A published initiative as a list shows it."""

    # Only what InitiativeQuerySet.with_listing() fetches: the narrative fields are
    # deferred there, and reading one would cost a query per row.
    lead_organisation = OrganisationLinkSerializer()
    sector = TERM_LINKS[Sector](allow_null=True)
    themes = TERM_LINKS[Theme](many=True)
    places = PlaceSerializer(many=True)
    stage_label = label_of("stage")
    start_year = year("The year it started.")
    end_year = year("The year it ended, if it has.")
    years = serializers.CharField(help_text="'2019', '2019 to 2022' or '2019 onwards'.")
    html_url = HtmlURLField()
    api_url = ApiURLField("initiative")

    class Meta:
        model = Initiative
        fields = [
            "slug",
            "title",
            "summary",
            "lead_organisation",
            "sector",
            "themes",
            "places",
            "stage",
            "stage_label",
            "start_year",
            "end_year",
            "years",
            "published_at",
            "updated_at",
            "html_url",
            "api_url",
        ]


class PartnerSerializer(ReadOnlySerializer):
    """An organisation that took part, and its role."""

    organisation = OrganisationLinkSerializer()
    role_label = label_of("role")

    class Meta:
        model = Partnership
        fields = ["organisation", "role", "role_label", "description"]


class QuoteSerializer(ReadOnlySerializer):
    """A passage of a source, word for word, that supports the record."""

    class Meta:
        model = Quote
        fields = ["text", "locator"]


class MetricSerializer(ReadOnlySerializer):
    """A measured result, e.g. administrative costs, 25% decrease, with the source and the
    passage its figure comes from."""

    direction_label = label_of("direction")
    display_value = serializers.CharField(help_text="As the public page shows it.")
    source = serializers.CharField(
        source="source.title", allow_null=True, default=None, help_text="Its source's title."
    )
    quote = QuoteSerializer(allow_null=True, help_text="The passage its figure comes from.")

    class Meta:
        model = Metric
        fields = [
            "label",
            "value",
            "unit",
            "direction",
            "direction_label",
            "display_value",
            "baseline",
            "period",
            "source",
            "quote",
        ]


class SourceSerializer(ReadOnlySerializer):
    """A citation backing the initiative's facts."""

    url = WebLinkField(help_text="The source's http(s) address, if it has one.")
    quotes = QuoteSerializer(many=True, help_text="The passages of it that support the record.")

    class Meta:
        model = Source
        fields = ["title", "author", "publisher", "url", "published_on", "accessed_on", "quotes"]


NARRATIVE = ["challenge", "approach", "results", "lessons"]


class InitiativeDetailSerializer(InitiativeSummarySerializer):
    """A published initiative: everything its public page shows. The narrative fields
    (challenge, approach, results, lessons) are Markdown."""

    # with_detail() fetches all of this; `related` is one more query, as on the page.
    drivers = TERM_LINKS[Driver](many=True)
    outcomes = TERM_LINKS[Outcome](many=True)
    barriers = TERM_LINKS[Barrier](many=True)
    partners = PartnerSerializer(source="partnerships", many=True)
    metrics = MetricSerializer(many=True)
    sources = SourceSerializer(many=True)
    innovation_type_label = label_of("innovation_type")
    evidence_level_label = label_of("evidence_level")
    collaboration_type_label = label_of("collaboration_type")
    funding_label = label_of("funding")
    website = WebLinkField(help_text="The initiative's http(s) website, if it has one.")
    related = serializers.SerializerMethodField(
        help_text="Published initiatives sharing the most themes with this one."
    )

    class Meta(InitiativeSummarySerializer.Meta):
        summary_fields = InitiativeSummarySerializer.Meta.fields
        fields = [
            *summary_fields[:3],
            *NARRATIVE,
            *summary_fields[3:6],
            "drivers",
            "outcomes",
            "barriers",
            *summary_fields[6:],
            "innovation_type",
            "innovation_type_label",
            "evidence_level",
            "evidence_level_label",
            "collaboration_type",
            "collaboration_type_label",
            "funding",
            "funding_label",
            "website",
            "partners",
            "metrics",
            "sources",
            "related",
        ]
        extra_kwargs = {name: {"help_text": "Markdown."} for name in NARRATIVE}

    @extend_schema_field(InitiativeLinkSerializer(many=True))
    def get_related(self, initiative):
        related = Initiative.objects.related_to(initiative)
        return InitiativeLinkSerializer(related, many=True, context=self.context).data


# -- organisations ----------------------------------------------------------------------


class OrganisationSerializer(ReadOnlySerializer):
    """An organisation that leads or took part in a published initiative."""

    kind_label = label_of("kind")
    country = serializers.CharField(
        source="country.code", help_text="ISO 3166-1 alpha-2 code, or empty if not known."
    )
    country_name = serializers.CharField(source="country.name")
    website = WebLinkField(help_text="The organisation's http(s) website, if it has one.")
    html_url = HtmlURLField()
    api_url = ApiURLField("organisation")
    name = serializers.CharField(
        source="display_name",
        help_text="Its name; for a body its source does not name, what the source calls it "
        "(“A city, not named in the source”).",
    )

    class Meta:
        model = Organisation
        fields = [
            "slug",
            "name",
            "unnamed",
            "kind",
            "kind_label",
            "country",
            "country_name",
            "website",
            "html_url",
            "api_url",
        ]


class OrganisationPartnershipSerializer(ReadOnlySerializer):
    """A published initiative the organisation took part in, and its role there."""

    initiative = InitiativeLinkSerializer()
    role_label = label_of("role")

    class Meta:
        model = Partnership
        fields = ["initiative", "role", "role_label", "description"]


class OrganisationDetailSerializer(OrganisationSerializer):
    """An organisation, with the published initiatives it led and those it took part in."""

    # The view attaches `led` and `published_partnerships`, one query each.
    led = InitiativeLinkSerializer(many=True, help_text="Newest first.")
    partnerships = OrganisationPartnershipSerializer(
        source="published_partnerships", many=True, help_text="By initiative title."
    )

    class Meta(OrganisationSerializer.Meta):
        fields = [*OrganisationSerializer.Meta.fields, "led", "partnerships"]


# -- taxonomies -------------------------------------------------------------------------


def term_serializer(model):
    """A term of one vocabulary, with its count of published initiatives."""
    extra = ["cofog_code"] if model is Sector else []
    fields = ["slug", "name", "description", *extra, "initiative_count", *term_fields(model)]
    return type(
        f"{model.__name__}Serializer",
        (ReadOnlySerializer,),
        {
            "__doc__": f"A {model._meta.verbose_name}: {model.__doc__}",
            "Meta": type("Meta", (), {"model": model, "fields": fields}),
            "initiative_count": serializers.IntegerField(
                help_text="How many published initiatives have this term."
            ),
            **term_fields(model),
        },
    )


TERM_SERIALIZERS = {v.model: term_serializer(v.model) for v in VOCABULARIES}
