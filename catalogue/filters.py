"""The one FilterSet behind the initiative list (and later the exports, feed and API).

Filter URLs are the product's public interface, so binding is forgiving: a value that cannot
be used (an unknown slug, a year like "abc", a repeated single-valued parameter) is dropped,
the rest still applies, and `problems` says in plain words what was ignored.
django-filter's own behaviour (one invalid value empties the whole list) is the opposite.
"""

import django_filters
from django import forms
from django.db.models import Q
from django.http import QueryDict
from django_countries import countries

from catalogue.models import (
    MAX_YEAR,
    MIN_YEAR,
    Barrier,
    Driver,
    Initiative,
    Outcome,
    Sector,
    Theme,
)


class TermFilter(django_filters.ModelMultipleChoiceFilter):
    """Several slugs of one vocabulary, combined with OR.

    Filters through a subquery on the link table rather than a join, so combining several
    facets neither multiplies rows nor needs DISTINCT.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "slug")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        relation = qs.model._meta.get_field(self.field_name)
        if relation.many_to_many:
            through = relation.remote_field.through
            source = relation.m2m_field_name()
            target = relation.m2m_reverse_field_name()
            ids = through.objects.filter(**{f"{target}__in": value}).values(source)
            return qs.filter(pk__in=ids)
        return qs.filter(**{f"{self.field_name}__in": value})


class YearFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", MIN_YEAR)
        kwargs.setdefault("max_value", MAX_YEAR)
        super().__init__(*args, **kwargs)


SORTS = {
    "-published": ("Newest published", ["-published_at", "title"]),
    "-updated": ("Recently updated", ["-updated_at", "title"]),
    "title": ("Title A to Z", ["title"]),
    "-start_year": ("Start year, latest first", ["-start_year", "title"]),
    "start_year": ("Start year, earliest first", ["start_year", "title"]),
}
DEFAULT_SORT = "-published"


class InitiativeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", max_length=200)
    theme = TermFilter(field_name="themes", queryset=Theme.objects.all(), label="Theme")
    driver = TermFilter(field_name="drivers", queryset=Driver.objects.all(), label="Driver")
    outcome = TermFilter(field_name="outcomes", queryset=Outcome.objects.all(), label="Outcome")
    barrier = TermFilter(field_name="barriers", queryset=Barrier.objects.all(), label="Barrier")
    sector = TermFilter(field_name="sector", queryset=Sector.objects.all(), label="Sector")
    stage = django_filters.MultipleChoiceFilter(choices=Initiative.Stage.choices, label="Stage")
    country = django_filters.MultipleChoiceFilter(
        method="in_country", choices=list(countries), label="Country"
    )
    year_from = YearFilter(field_name="start_year", lookup_expr="gte", label="Started from")
    year_to = YearFilter(field_name="start_year", lookup_expr="lte", label="Started up to")
    sort = django_filters.ChoiceFilter(
        method="sort_by",
        choices=[(key, label) for key, (label, _) in SORTS.items()],
        label="Sort by",
        empty_label=None,
    )

    class Meta:
        model = Initiative
        fields = []

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            data = self._normalise(data)
        super().__init__(data, *args, **kwargs)
        self.problems = []
        if self.is_bound:
            self._use_last_of_repeated()
            if not self.form.is_valid():
                self.data = self._usable(self.data)
                del self._form

    # -- binding ------------------------------------------------------------------

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

    def _use_last_of_repeated(self):
        """A single-valued parameter given several times: the last one wins, visibly."""
        for name, filter_ in self.filters.items():
            values = self.data.getlist(name)
            multiple = getattr(filter_.field.widget, "allow_multiple_selected", False)
            if len(values) > 1 and not multiple:
                self.data.setlist(name, values[-1:])
                self.problems.append(
                    f"{filter_.label} was given {len(values)} times; only the last value, "
                    f"“{values[-1]}”, was used."
                )

    def _usable(self, data):
        """Keep what the form accepts, value by value; record what it does not."""
        usable = data.copy()
        for name, filter_ in self.filters.items():
            if name not in self.form.errors:
                continue
            field = self.form.fields[name]
            values = data.getlist(name)
            if getattr(field.widget, "allow_multiple_selected", False):
                good = self._valid_choices(field, values)
                usable.setlist(name, good)
                for value in values:
                    if value not in good:
                        self.problems.append(
                            f"There is no {filter_.label.lower()} called “{value}”, "
                            "so it was ignored."
                        )
                continue
            usable.pop(name)
            self.problems.append(
                f"{filter_.label}: “{values[-1]}” was ignored. {self.form.errors[name][0]}"
            )
        return usable

    @staticmethod
    def _valid_choices(field, values):
        if isinstance(field, forms.ModelMultipleChoiceField):
            known = set(
                field.queryset.filter(**{f"{field.to_field_name}__in": values}).values_list(
                    field.to_field_name, flat=True
                )
            )
        else:
            known = {str(key) for key, _ in field.choices}
        return [value for value in dict.fromkeys(values) if value in known]

    # -- filters ------------------------------------------------------------------

    def search(self, queryset, name, value):
        """Every word must appear in the title, summary or lead organisation's name."""
        for word in value.split():
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(summary__icontains=word)
                | Q(lead_organisation__name__icontains=word)
            )
        return queryset

    def in_country(self, queryset, name, value):
        return queryset.filter(
            pk__in=Initiative.places.through.objects.filter(place__country__in=value).values(
                "initiative"
            )
        )

    def sort_by(self, queryset, name, value):
        return queryset.order_by(*SORTS[value][1])

    @property
    def current_sort(self):
        if self.is_bound and self.form.is_valid():
            return self.form.cleaned_data.get("sort") or DEFAULT_SORT
        return DEFAULT_SORT

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
            elif isinstance(self.form.fields[name], forms.ModelMultipleChoiceField):
                chips.extend((name, term.slug, f"{label}: {term.name}") for term in value)
            else:
                names = dict(self.form.fields[name].choices)
                chips.extend((name, key, f"{label}: {names.get(key, key)}") for key in value)
        return [
            {"label": text, "remove_query": self._without(name, key)} for name, key, text in chips
        ]

    def _without(self, name, value):
        """The current query minus one value of `name` (all of it when value is None)."""
        query = self.data.copy()
        query.setlist(name, [v for v in query.getlist(name) if value is not None and v != value])
        query.pop("page", None)
        return query.urlencode()
