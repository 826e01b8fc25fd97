"""The one FilterSet behind the initiative list, the exports, the feed, insights and the API,
and the one owner of "the query": what was applied, what was refused and why, and the query
without one facet.

Filter URLs are the product's public interface, so binding is forgiving: a value that cannot
be used (an unknown slug, a year like "abc", a repeated single-valued parameter) is dropped,
the rest still applies, and `problems` says in plain words what was ignored. The same pass
records `refused`, the same values by parameter in the words a program needs, which the API
answers with a 400. django-filter's own behaviour (one invalid value empties the whole list)
is neither.
"""

import copy

import django_filters
from django import forms
from django.core.validators import slug_re
from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict
from django_countries import countries

from catalogue import search
from catalogue.models import (
    MAX_YEAR,
    MIN_YEAR,
    Initiative,
    Metric,
    Organisation,
    Partnership,
    Place,
)
from catalogue.vocabularies import VOCABULARIES, terms

SORTS = {
    "relevance": ("Relevance", None),
    "-published": ("Newest published", ["-published_at", "title"]),
    "-updated": ("Recently updated", ["-updated_at", "title"]),
    "title": ("Title A to Z", ["title"]),
    "-start_year": ("Start year, latest first", ["-start_year", "title"]),
    "start_year": ("Start year, earliest first", ["start_year", "title"]),
}
DEFAULT_SORT = "-published"

# Where the error summary sends a problem with each parameter: its field in the filter
# panel, or for a group of checkboxes the group (templates/catalogue/initiative_list.html).
FIELD_IDS = {
    "q": "q",
    "sort": "sort",
    "year_from": "year_from",
    "year_to": "year_to",
    "role": "facet-organisation",
}


class SetCheckedMultipleChoiceField(django_filters.fields.MultipleChoiceField):
    """Checks the values against the set of the choices' keys, made once per validation:
    Django's valid_value walks every choice for each value (for a country, all 250, each
    name translated as it goes)."""

    _allowed = None

    def validate(self, value):
        self._allowed = self._keys() if value else None
        try:
            super().validate(value)
        finally:
            self._allowed = None

    def valid_value(self, value):
        if self._allowed is None:
            return super().valid_value(value)
        return str(value) in self._allowed

    def _keys(self):
        keys = set()
        for key, label in self.choices:
            if isinstance(label, (list, tuple)):  # a group of choices
                keys.update(str(inner) for inner, _ in label)
            else:
                keys.add(str(key))
        return keys


class MultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    field_class = SetCheckedMultipleChoiceField


class TermFilter(MultipleChoiceFilter):
    """Several slugs of one vocabulary, combined with OR.

    Slugs are checked against the cached terms (no query), and filtering goes through a
    subquery on the narrow link table, so combining facets neither multiplies rows nor needs
    DISTINCT.
    """

    def __init__(self, vocabulary, *args, **kwargs):
        self.vocabulary = vocabulary
        kwargs["choices"] = lambda: [(t.slug, t.name) for t in terms(vocabulary).values()]
        kwargs.setdefault("field_name", vocabulary.field)
        kwargs.setdefault("label", vocabulary.label)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        by_slug = terms(self.vocabulary)
        ids = [by_slug[slug].id for slug in value if slug in by_slug]
        relation = qs.model._meta.get_field(self.field_name)
        if relation.many_to_many:
            through = relation.remote_field.through
            link = through.objects.filter(**{f"{relation.m2m_reverse_field_name()}__in": ids})
            return qs.filter(pk__in=link.values(relation.m2m_field_name()))
        return qs.filter(**{f"{self.field_name}__in": ids})


class YearFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", MIN_YEAR)
        kwargs.setdefault("max_value", MAX_YEAR)
        super().__init__(*args, **kwargs)


def is_multiple(filter_):
    """Whether a filter takes several values (a repeated parameter means "any of these")."""
    return getattr(filter_.field.widget, "allow_multiple_selected", False)


class ShallowlyCopiedFilters(dict):
    """A FilterSet's base filters, which each bound FilterSet copies (django-filter deep-
    copies them: their choices, labels and fields, about a thousand objects, a millisecond
    a request). A shallow copy of each filter is enough: what a bound FilterSet sets on
    its filters (model, parent) are their own attributes, and its form copies the form
    fields itself (ShallowlyCopiedFields); a filter with a `method` gets its own
    FilterMethod.

    Each filter's form field is made once, on the base filter, so that copies share it;
    but not for the filters named `per_request`, whose field each bound FilterSet makes
    from its own choices."""

    def __init__(self, filters, per_request=()):
        super().__init__(filters)
        self.per_request = set(per_request)

    def __deepcopy__(self, memo):
        copies = {}
        for name, filter_ in self.items():
            if name not in self.per_request:
                filter_.field  # noqa: B018 (made once, kept by the filter as `_field`)
            copied = copies[name] = copy.copy(filter_)
            if copied.method is not None:
                copied.method = copied.method  # its own FilterMethod, bound to the copy
        return copies


class ShallowlyCopiedFields(dict):
    """A form class's base fields, which each form copies (Django deep-copies them, choices
    and all). Each form gets its own copy of each field and widget, with their own
    attributes, error messages and validators (what Field.__deepcopy__ copies) but shared
    choices: nothing here changes a field's choices in place."""

    def __deepcopy__(self, memo):
        copies = {}
        for name, field in self.items():
            copied = copies[name] = copy.copy(field)
            copied.widget = copy.copy(field.widget)
            copied.widget.attrs = dict(field.widget.attrs)
            copied.error_messages = dict(field.error_messages)
            copied.validators = list(field.validators)
        return copies


def with_vocabulary_filters(filterset_class):
    """One TermFilter per vocabulary (catalogue/vocabularies.py), after the search."""
    declared = dict(filterset_class.declared_filters)
    first = {"q": declared.pop("q")}
    vocabulary_filters = {v.param: TermFilter(v) for v in VOCABULARIES}
    filterset_class.declared_filters = {**first, **vocabulary_filters, **declared}
    filterset_class.base_filters = ShallowlyCopiedFilters(
        filterset_class.get_filters(), per_request=filterset_class.PER_REQUEST_FILTERS
    )
    return filterset_class


@with_vocabulary_filters
class InitiativeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", max_length=200)
    # (Then a filter for each vocabulary: theme, driver, outcome, barrier, sector.)
    stage = MultipleChoiceFilter(choices=Initiative.Stage.choices, label="Stage")
    # A callable, so each request's form does not deep-copy 250 countries.
    country = MultipleChoiceFilter(
        method="in_country", choices=lambda: list(countries), label="Country"
    )
    kind = MultipleChoiceFilter(
        field_name="lead_organisation__kind",
        choices=Organisation.Kind.choices,
        label="Type of lead organisation",
    )
    evidence = MultipleChoiceFilter(
        field_name="evidence_level",
        choices=[(str(value), label) for value, label in Initiative.EvidenceLevel.choices],
        label="Evidence level",
    )
    innovation_type = MultipleChoiceFilter(
        choices=Initiative.InnovationType.choices, label="Innovation type"
    )
    measured = MultipleChoiceFilter(
        method="by_measured",
        choices=[("yes", "With measured results"), ("no", "No measured results")],
        label="Measured results",
    )
    # Any public organisation's slug. A request looks up only the slugs it was given (one
    # query); the callable, listing them all, is for the API schema. Lead or partner,
    # unless `role` narrows it.
    organisation = MultipleChoiceFilter(
        method="by_organisation",
        choices=lambda: list(Organisation.objects.public().values_list("slug", "name")),
        label="Organisation",
    )
    # With an organisation, its role; alone, initiatives with a partner in that role.
    role = MultipleChoiceFilter(
        method="by_role",
        choices=[("lead", "Lead organisation"), *Partnership.Role.choices],
        label="Organisation's role",
    )
    year_from = YearFilter(field_name="start_year", lookup_expr="gte", label="Started from")
    year_to = YearFilter(field_name="start_year", lookup_expr="lte", label="Started up to")
    # Ordering is applied in filter_queryset, after every filter.
    sort = django_filters.ChoiceFilter(
        method="unfiltered",
        choices=[(key, label) for key, (label, _) in SORTS.items()],
        label="Sort by",
        empty_label=None,
    )

    class Meta:
        model = Initiative
        fields = []

    # Its choices are the organisations asked for (_known_organisations).
    PER_REQUEST_FILTERS = ("organisation",)

    def get_form_class(self):
        form_class = super().get_form_class()
        form_class.base_fields = ShallowlyCopiedFields(form_class.base_fields)
        return form_class

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            data = self._normalise(data)
        super().__init__(data, *args, **kwargs)
        self.problems = []
        # The same messages by parameter, so the page can link each to its field.
        self.field_problems = {}
        # The same values by parameter, in the words the API answers with (400).
        self.refused = {}
        self._known_organisations()
        if self.is_bound:
            self._use_last_of_repeated()
            if not self.form.is_valid():
                self.data = self._usable(self.data)
                del self._form

    @classmethod
    def for_request(cls, request, queryset=None, *, ignore=()):
        """Bound to the request's query string (less the `ignore`d parameters), over
        `queryset` (the published initiatives by default)."""
        data = request.GET
        if ignore:
            data = data.copy()
            for name in ignore:
                data.pop(name, None)
        if queryset is None:
            queryset = Initiative.objects.published()
        return cls(data or None, request=request, queryset=queryset)

    @property
    def results(self):
        """The filtered, searched and sorted queryset: the one code path behind the list,
        the exports, the feed and the API, so they select the same records in the same
        order. `page` is not a filter: paginating is the caller's."""
        if self.is_bound and not self.is_valid():
            # Not expected: binding has already dropped every value it cannot use.
            return self.queryset.none()
        return self.qs

    def _normalise(self, data):
        """Drop blank values; accept country codes in any case."""
        clean = QueryDict(mutable=True)
        for name, values in data.lists():
            values = [v.strip() for v in values if v.strip()]
            if name == "country":
                values = [v.upper() for v in values]
            if values:
                clean.setlist(name, values)
        return clean

    @property
    def asked_organisations(self):
        """The organisation slugs asked for that could be slugs at all: anything else (a NUL,
        which PostgreSQL refuses in text, or a page of text) is never sent to the database,
        and is named as unknown like any slug that matches no organisation."""
        if not self.is_bound:
            return []
        longest = Organisation._meta.get_field("slug").max_length
        return [
            slug
            for slug in self.data.getlist("organisation")
            if len(slug) <= longest and slug_re.fullmatch(slug)
        ]

    def _known_organisations(self):
        """The organisation filter's choices: the public organisations among those asked for."""
        slugs = self.asked_organisations
        found = Organisation.objects.public().filter(slug__in=slugs) if slugs else []
        organisation = self.filters["organisation"]
        # This filterset's own `extra` (the filters are shallow copies of the class's) and
        # its own form field, made from it.
        organisation.extra = {
            **organisation.extra,
            "choices": list(found.values_list("slug", "name")) if slugs else [],
        }
        organisation.__dict__.pop("_field", None)

    @property
    def organisation_search(self):
        """Text to find organisations by in the organisation facet (the panel's own search
        box; not a filter: it changes the options offered, never the results)."""
        text = (self.data.get("find_organisation") or "")[:100] if self.is_bound else ""
        return text.replace("\x00", "")

    def _use_last_of_repeated(self):
        """A single-valued parameter given several times: the last one wins, visibly."""
        for name, filter_ in self.filters.items():
            values = self.data.getlist(name)
            if len(values) > 1 and not is_multiple(filter_):
                self.data.setlist(name, values[-1:])
                self._problem(
                    name,
                    f"{filter_.label} was given {len(values)} times; only the last value, "
                    f"“{values[-1]}”, was used.",
                    [f"Give this parameter once; it was given {len(values)} times."],
                )

    def _usable(self, data):
        """Keep what the form accepts, value by value; record what it does not."""
        usable = data.copy()
        for name, filter_ in self.filters.items():
            if name not in self.form.errors:
                continue
            field = self.form.fields[name]
            values = data.getlist(name)
            if is_multiple(filter_):
                known = {str(key) for key, _ in field.choices}
                good = [value for value in dict.fromkeys(values) if value in known]
                usable.setlist(name, good)
                label = filter_.label.lower()
                unknown = [value for value in dict.fromkeys(values) if value not in known]
                for value in values:
                    if value not in known:
                        self._problem(
                            name, f"There is no {label} called “{value}”, so it was ignored."
                        )
                self._refuse(
                    name,
                    [f"There is no {label} called “{value}”." for value in unknown]
                    or list(self.form.errors[name]),
                )
                continue
            usable.pop(name)
            self._problem(
                name,
                f"{filter_.label}: “{values[-1]}” was ignored. {self.form.errors[name][0]}",
                list(self.form.errors[name]),
            )
        return usable

    def _problem(self, name, message, refusal=None):
        self.problems.append(message)
        self.field_problems.setdefault(name, []).append(message)
        if refusal:
            self._refuse(name, refusal)

    def _refuse(self, name, messages):
        # A parameter refused once (given twice, say) is not refused again for its value.
        self.refused.setdefault(name, messages)

    def problem_links(self):
        """[(message, the id of the field it is about, or '')] for the error summary."""
        where = {m: name for name, messages in self.field_problems.items() for m in messages}
        links = []
        for message in self.problems:
            name = where.get(message)
            links.append((message, FIELD_IDS.get(name, f"facet-{name}") if name else ""))
        return links

    # -- filtering ----------------------------------------------------------------

    def search(self, queryset, name, value):
        return search.search(queryset, value)

    def in_country(self, queryset, name, value):
        places = Place.objects.filter(country__in=value).values("pk")
        link = Initiative.places.through.objects.filter(place__in=places)
        return queryset.filter(pk__in=link.values("initiative"))

    def by_organisation(self, queryset, name, value):
        """Initiatives each of these organisations led or took part in (any of them), in the
        roles chosen, if any: "lead" for leading, a partner role for taking part so."""
        organisations = Organisation.objects.filter(slug__in=value).values("pk")
        roles = set(self.form.cleaned_data.get("role") or [])
        partner_roles = roles - {"lead"}
        condition = Q()
        if not roles or "lead" in roles:
            condition |= Q(lead_organisation__in=organisations)
        if not roles or partner_roles:
            partnerships = Partnership.objects.filter(organisation__in=organisations)
            if partner_roles:
                partnerships = partnerships.filter(role__in=partner_roles)
            condition |= Q(pk__in=partnerships.values("initiative"))
        return queryset.filter(condition)

    def by_measured(self, queryset, name, value):
        """ "yes": at least one metric; "no": none; both: either."""
        if set(value) >= {"yes", "no"}:
            return queryset
        measured = Exists(Metric.objects.filter(initiative=OuterRef("pk")))
        return queryset.filter(measured if "yes" in value else ~measured)

    def by_role(self, queryset, name, value):
        if self.form.cleaned_data.get("organisation"):
            return queryset  # by_organisation applies it
        if "lead" in value:
            return queryset  # every initiative has a lead organisation
        partnerships = Partnership.objects.filter(role__in=value)
        return queryset.filter(pk__in=partnerships.values("initiative"))

    def unfiltered(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        sort = self.current_sort
        if sort == "relevance":
            return search.rank(queryset, self.query)
        return queryset.order_by(*SORTS[sort][1], "pk")

    @property
    def query(self):
        """The search text in use, or ''."""
        if self.is_bound and self.form.is_valid():
            return self.form.cleaned_data.get("q") or ""
        return ""

    @property
    def current_sort(self):
        """The sort in use: as asked, else relevance when searching, else newest first."""
        asked = self.form.cleaned_data.get("sort") if self.is_bound and self.is_valid() else ""
        if asked == "relevance" and not self.query:
            asked = ""
        return asked or ("relevance" if self.query else DEFAULT_SORT)

    def sort_choices(self):
        """Relevance is offered only when there is something to be relevant to."""
        return [
            (key, label) for key, (label, _) in SORTS.items() if key != "relevance" or self.query
        ]

    def active_facets(self):
        """Names of the filters in use, other than search and sort."""
        if not self.is_bound or not self.form.is_valid():
            return set()
        return {
            name
            for name, value in self.form.cleaned_data.items()
            if name not in ("q", "sort") and value not in (None, "", [])
        }

    def queryset_without(self, *skip):
        """The filtered, unordered queryset ignoring the named filters (for facet counts)."""
        queryset = self.queryset
        if self.is_bound and self.form.is_valid():
            for name, value in self.form.cleaned_data.items():
                if name not in skip and name != "sort":
                    queryset = self.filters[name].filter(queryset, value)
        return queryset.order_by()

    def active_filters(self):
        """Each value in use, with the query string that removes just that value."""
        if not self.is_bound or not self.form.is_valid():
            return []
        chips = []
        for name, value in self.form.cleaned_data.items():
            if name == "sort" or value in (None, "", []):
                continue
            label = self.filters[name].label
            if name == "q":
                chips.append((name, None, f"Search: {value}"))
            elif isinstance(value, int):
                chips.append((name, None, f"{label} {value}"))
            else:
                names = dict(self.form.fields[name].choices)
                chips.extend((name, key, f"{label}: {names.get(key, key)}") for key in value)
        return [
            {"label": text, "remove_query": self.query_without(name, key)}
            for name, key, text in chips
        ]

    # -- the query, as it was applied ----------------------------------------------

    def applied(self, *, sort=False):
        """The filters in use, only the values that could be used, as a QueryDict (sort
        too if asked; never `page` or anything that is not a filter)."""
        query = QueryDict(mutable=True)
        if self.is_bound:
            for name in self.filters:
                values = self.data.getlist(name)
                if values and (sort or name != "sort"):
                    query.setlist(name, values)
        return query

    def applied_values(self):
        """{filter: value, or values for one that takes several} in use, and the sort in
        use (the exports' "query")."""
        used = {
            name: values if is_multiple(self.filters[name]) else values[-1]
            for name, values in self.applied().lists()
        }
        used["sort"] = self.current_sort
        return used

    def applied_key(self):
        """The filters in use, sort aside, in a canonical order (for cache keys)."""
        return sorted((name, sorted(values)) for name, values in self.applied().lists())

    def query_without(self, name, value=None):
        """The query as bound minus one value of `name` (all of it when value is None),
        and never the page: the link that removes a chip."""
        query = self.data.copy()
        query.setlist(name, [v for v in query.getlist(name) if value is not None and v != value])
        query.pop("page", None)
        return query.urlencode()
