"""The initiative list's FilterSet, strict for the API, and its OpenAPI description.

The HTML list forgives: a value it cannot use is dropped with a note, because a person can
read the note. A program cannot, so the API refuses the same values with HTTP 400 naming
the parameter (InitiativeFilter.refused, recorded by the same binding pass). The filters
themselves (names, meanings, sort orders, normalising of blank values and country-code case)
are InitiativeFilter's, unchanged, so a query string means
the same thing on /initiatives/ and /api/v1/initiatives/.
"""

from django import forms
from django_filters import filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from rest_framework.exceptions import ValidationError

from catalogue.vocabularies import VOCABULARIES

ANY_OF = " Repeat it for several: any of them matches. Different parameters must all match."
DESCRIPTIONS = {
    "q": (
        "Search text over titles, summaries, narratives and organisation names: every word "
        'must match; "quoted phrases", -excluded words and "or" work as on the site.'
    ),
    **{v.param: f"A {v.param} slug (see /api/v1/{v.plural}/).{ANY_OF}" for v in VOCABULARIES},
    "stage": f"A stage.{ANY_OF}",
    "country": f"An ISO 3166-1 alpha-2 code (any case; EU for the European Union).{ANY_OF}",
    "kind": f"The lead organisation's kind.{ANY_OF}",
    "organisation": (
        "A public organisation's slug (see /api/v1/organisations/): initiatives it led or "
        f"took part in. An unknown slug is refused.{ANY_OF}"
    ),
    "role": (
        "With `organisation`: only initiatives it led (`lead`) or took part in in this "
        "partner role. Repeat it for several: any of them matches."
    ),
    "evidence": f"An evidence level, 1 (described) to 5 (replicated at scale).{ANY_OF}",
    "innovation_type": f"An innovation type (OECD OPSI's four facets).{ANY_OF}",
    "measured": (
        "`yes`: with at least one measured result (metric); `no`: with none. "
        "Both, or neither: either."
    ),
    "year_from": "Started in this year or later.",
    "year_to": "Started in this year or earlier.",
    "sort": (
        "The order. By default newest published first, or by relevance when searching; "
        "relevance without `q` is the default."
    ),
}


class CatalogueFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend answering 400 for anything the strict FilterSet refuses."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        # The same pass that made the list's problems refused these, by parameter; should
        # a future problem escape it, still refuse.
        refused = filterset.refused or ({"query": filterset.problems} if filterset.problems else {})
        if refused:
            raise ValidationError(refused)
        if not filterset.is_valid():
            # Not expected (the parent keeps only what its form accepts), but never ignored.
            raise ValidationError(filterset.errors)
        view.filterset = filterset  # for the facet coverage the list reports
        return filterset.qs


class CatalogueFilterExtension(DjangoFilterExtension):
    """Describe the filters exactly, so clients and schemathesis send what the API accepts.

    drf-spectacular leaves choices that come from a callable out of the schema (they may read
    the database). Here they are wanted: taxonomy slugs and country codes are the values a
    client must send, and the schema is generated per request, so it is always current.
    Bounds and lengths are copied from each filter's form field.
    """

    target_class = CatalogueFilterBackend
    priority = 1

    def _get_explicit_filter_choices(self, filter_field):
        choices = filter_field.extra.get("choices")
        if callable(choices):
            return [str(key) for key, _ in choices()]
        return super()._get_explicit_filter_choices(filter_field)

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        field = filter_field.field
        for parameter in parameters:
            # A blank value is ignored, as on the list (its form submits empty fields).
            parameter["allowEmptyValue"] = True
            # The filter's label first, then how to use it, then any list of choices.
            label, gap, choices = parameter.get("description", "").partition("\n\n")
            usage = DESCRIPTIONS.get(field_name, "")
            parameter["description"] = f"{label}. {usage}".strip() + gap + choices
            schema = parameter["schema"]
            if isinstance(filter_field, (filters.ChoiceFilter, filters.MultipleChoiceFilter)):
                # Every choice is a string (a slug, a code or a sort key), whatever the model
                # field behind it is (themes is a many-to-many of integer ids).
                item = {"type": "string"}
                if choices := self._get_explicit_filter_choices(filter_field):
                    # (An empty vocabulary has no enum: an empty one is not valid OpenAPI.)
                    item["enum"] = choices
                if schema.get("type") == "array":
                    parameter["schema"] = {"type": "array", "items": item}
                else:
                    parameter["schema"] = item
                continue
            for attribute, keyword in (
                ("min_value", "minimum"),
                ("max_value", "maximum"),
                ("max_length", "maxLength"),
            ):
                if getattr(field, attribute, None) is not None:
                    schema[keyword] = getattr(field, attribute)
            if isinstance(field, forms.CharField):
                # Django's form fields refuse NUL characters (PostgreSQL cannot store them).
                schema["pattern"] = "^[^\\u0000]*$"
            if isinstance(filter_field, filters.NumberFilter):
                schema["type"] = "integer"
                schema.pop("format", None)
        return parameters
