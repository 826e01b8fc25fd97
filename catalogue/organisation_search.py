"""The organisation index's search (/organisations/): name text, kinds, a country."""

from django import forms
from django.http import QueryDict
from django_countries import countries

from catalogue.models import Organisation


class OrganisationSearchForm(forms.Form):
    """The organisation index's search: name text, kinds (any of), a country.

    Forgiving like InitiativeFilter: a value it cannot use is dropped and named in the
    problems, the rest still applies."""

    q = forms.CharField(label="Name", max_length=200, required=False)
    kind = forms.MultipleChoiceField(
        label="Kind", choices=Organisation.Kind.choices, required=False
    )
    country = forms.ChoiceField(label="Country", required=False)

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        codes = (
            Organisation.objects.public()
            .exclude(country="")
            .order_by()
            .values_list("country", flat=True)
            .distinct()
        )
        named = sorted(((code, countries.name(code) or code) for code in codes), key=lambda c: c[1])
        self.fields["country"].choices = [("", "Any country"), *named]

    def organisations(self):
        """(the public organisations that match, with their counts; what was ignored)."""
        problems = []
        kinds = dict(Organisation.Kind.choices)
        asked_kinds = self.data.getlist("kind")
        country = (self.data.get("country") or "").strip().upper()
        known_countries = dict(self.fields["country"].choices)
        name = (self.data.get("q") or "").strip()
        problems.extend(
            f"There is no kind of organisation called “{value}”, so it was ignored."
            for value in asked_kinds
            if value not in kinds
        )
        if country and country not in known_countries:
            problems.append(f"No organisation here is in “{country}”, so it was ignored.")
            country = ""
        if len(name) > 200 or "\x00" in name:
            problems.append("The name searched for was too long or not text, so it was ignored.")
            name = ""
        # What the form shows: the usable values only.
        self.data = QueryDict(mutable=True)
        self.data.update({"q": name, "country": country})
        self.data.setlist("kind", [value for value in asked_kinds if value in kinds])
        queryset = Organisation.objects.public()
        if name:
            queryset = queryset.filter(name__icontains=name)
        if self.data.getlist("kind"):
            queryset = queryset.filter(kind__in=self.data.getlist("kind"))
        if country:
            queryset = queryset.filter(country=country)
        return queryset.with_counts().order_by("name", "pk"), problems

    def kind_options(self):
        chosen = set(self.data.getlist("kind"))
        return [(value, label, value in chosen) for value, label in Organisation.Kind.choices]
