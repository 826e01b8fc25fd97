"""The Sources, Quotes and Metrics sections of an initiative's form: rows citing other rows,
new ones included, and what a published record needs of them."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from catalogue import workflow
from catalogue.models import Metric, Quote, Source, Status


class CitingForm(forms.ModelForm):
    """A row that cites other rows of its record: one already saved, or one being added in
    the same form (numbered as its section numbers its new rows), so no second save is
    needed before a new record's quote can be from its new source, or its metric cite a new
    quote. `citing` is {form field: (the cited inline's prefix, what a row of it is called)};
    the choices are set by CitingInline.get_formset."""

    citing = {}
    choices = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (prefix, _noun) in self.citing.items():
            self.fields[name].choices = self.choices[name]
            attname = CITED_ATTNAMES[prefix]
            if getattr(self.instance, attname):
                self.initial.setdefault(name, str(getattr(self.instance, attname)))


# The inline prefix of a cited section, and the attribute a citing row holds its pk in.
CITED_ATTNAMES = {"sources": "source_id", "quotes": "quote_id"}


def cited_row(data, prefix, cites):
    """Whether `cites` (a saved pk, or "#N" for the Nth row of the `prefix` formset) names a
    row kept in this post, and the problem in words if not."""
    try:
        saved = int(data.get(f"{prefix}-INITIAL_FORMS", 0))
    except ValueError:
        return None  # that formset reports its own broken management form
    noun = "source" if prefix == "sources" else "quote"
    filled = "title" if prefix == "sources" else "text"
    if cites.startswith("#"):
        index = int(cites[1:]) - 1
        if index < saved or not data.get(f"{prefix}-{index}-{filled}", "").strip():
            return (
                f"There is no new {noun} {cites} with a {filled} in "
                f"{prefix.capitalize()} below: fill it in, or choose another {noun}."
            )
        if data.get(f"{prefix}-{index}-DELETE"):
            return f"New {noun} {cites} is being removed: choose another."
        return None
    for index in range(saved):
        if data.get(f"{prefix}-{index}-id") == cites and data.get(f"{prefix}-{index}-DELETE"):
            return f"This {noun} is being removed: choose another, or keep the {noun}."
    return None


class CitingFormSet(BaseInlineFormSet):
    # Set by get_formset when the record will be public after this save.
    will_be_published = False

    def kept_forms(self):
        return [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
        ]

    def clean(self):
        super().clean()
        for form in self.kept_forms():
            for name, (prefix, _noun) in form.citing.items():
                cites = form.cleaned_data.get(name) or ""
                problem = cited_row(self.data, prefix, cites) if cites else None
                if problem:
                    form.add_error(name, problem)


class QuoteForm(CitingForm):
    source_choice = forms.ChoiceField(
        label="From source",
        required=False,
        help_text="The source it is quoted from. A new source is numbered as in Sources.",
    )
    citing = {"source_choice": ("sources", "source")}

    class Meta:
        model = Quote
        fields = ["text", "locator"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}


class QuoteFormSet(CitingFormSet):
    def clean(self):
        super().clean()
        for form in self.kept_forms():
            if not form.cleaned_data.get("source_choice"):
                form.add_error("source_choice", "Choose the source this passage is quoted from.")


class MetricForm(CitingForm):
    cites = forms.ChoiceField(
        label="Source",
        required=False,
        help_text="The source its figure comes from. A new source is numbered as in Sources. "
        "Left empty, it is the passage's source.",
    )
    passage = forms.ChoiceField(
        label="Passage",
        required=False,
        help_text="The quote its figure is in. A new quote is numbered as in Quotes.",
    )
    citing = {"cites": ("sources", "source"), "passage": ("quotes", "quote")}

    class Meta:
        model = Metric
        fields = ["label", "value", "unit", "direction", "baseline", "period"]


def passage_source(data, passage):
    """The source choice ("12" or "#2") of the quote a metric's passage choice names."""
    if passage.startswith("#"):
        return data.get(f"quotes-{int(passage[1:]) - 1}-source_choice") or None
    found = Quote.objects.filter(pk=passage).values_list("source_id", flat=True).first()
    return None if found is None else str(found)


class MetricFormSet(CitingFormSet):
    def clean(self):
        super().clean()
        kept = self.kept_forms()
        for form in kept:
            cites = form.cleaned_data.get("cites") or ""
            passage = form.cleaned_data.get("passage") or ""
            other = cites and passage and passage_source(self.data, passage) not in (None, cites)
            if other:
                form.add_error("passage", "This passage is from another source.")
            if self.will_be_published:
                if not passage:
                    form.add_error("passage", workflow.PUBLICATION_NEEDS["metric_quotes"])
                elif not cites and not passage_source(self.data, passage):
                    form.add_error("cites", workflow.PUBLICATION_NEEDS["metric_quotes"])
        if self.will_be_published and not kept:
            try:
                level = int(self.data.get("evidence_level") or 1)
            except ValueError:
                return  # the evidence level field says what is wrong with it
            if level >= workflow.MEASURED_EVIDENCE_LEVEL:
                raise ValidationError(workflow.PUBLICATION_NEEDS["metrics"])


class SourceFormSet(BaseInlineFormSet):
    # Set by SourceInline.get_formset when the record will be public after this save.
    will_be_published = False

    def clean(self):
        super().clean()
        if not self.will_be_published:
            return
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError(workflow.PUBLICATION_NEEDS["sources"])


def will_be_published(request):
    state = getattr(request, "workflow_state", None)
    return bool(state and state.target == Status.PUBLISHED)


class SourceInline(admin.StackedInline):
    model = Source
    formset = SourceFormSet
    extra = 1
    fields = [
        ("title", "url"),
        ("author", "publisher"),
        ("published_on", "accessed_on"),
        "copy_file",
    ]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.will_be_published = will_be_published(request)
        return formset


# Rows a quote or metric may cite beyond those already saved: the new rows the form offers.
NEW_ROW_CHOICES = 5


class CitingInline(admin.TabularInline):
    extra = 1

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        choices = {}
        for name, (prefix, noun) in formset.form.citing.items():
            model = Source if prefix == "sources" else Quote
            saved = list(model.objects.filter(initiative=obj.pk)) if obj and obj.pk else []
            choices[name] = [
                ("", "---------"),
                *((str(row.pk), str(row)) for row in saved),
                *(
                    (f"#{n}", f"New {noun} #{n} (in {prefix.capitalize()} above)")
                    for n in range(len(saved) + 1, len(saved) + 1 + NEW_ROW_CHOICES)
                ),
            ]
        formset.form = type(formset.form.__name__, (formset.form,), {"choices": choices})
        formset.will_be_published = will_be_published(request)
        return formset


class QuoteInline(CitingInline):
    model = Quote
    form = QuoteForm
    formset = QuoteFormSet
    fields = ["text", "locator", "source_choice"]
    verbose_name = "quote: a passage of a source that supports the record"
    verbose_name_plural = "quotes: the passages of the sources that support the record"


class MetricInline(CitingInline):
    model = Metric
    form = MetricForm
    formset = MetricFormSet
    fields = ["label", "value", "unit", "direction", "baseline", "period", "cites", "passage"]
