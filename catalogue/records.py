"""A whole initiative record as plain data, and the differences between two of them.

One snapshot format serves three places: the live record in the database, a version in its
history (django-reversion) and a proposed change kept beside the live version. So History's
comparisons and a Publisher's review of a proposal show differences the same way, field by
field, relations included.

A snapshot is JSON-safe:

    {"fields": {attname: value, ...},             # content fields, m2m as sorted pk lists
     "partnerships": {key: {attname: value}},      # each child row by key: its pk as text
     "sources": {...}, "quotes": {...}, "metrics": {...}}

A child row added in a proposal has no pk yet; its key is "new-N", and a quote or metric
citing such a source (or a metric citing such a quote) holds that key in `source_id`
(`quote_id`).

An organisation's snapshot is {"fields": {...}} alone: it has no child rows. The functions
that read a snapshot take the model it is of, an initiative unless said.
"""

import datetime
from decimal import Decimal
from typing import NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.text import capfirst
from django_countries.fields import Country

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

# Record-keeping, not content: never proposed, restored or compared.
NOT_CONTENT = {
    "id",
    "status",
    "search_vector",
    "published_at",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
}

# The child rows that belong to a record, each after the rows it may refer to (a quote is
# from a source; a metric cites a source and a quote), which is the order they are written in.
CHILDREN = {"partnerships": Partnership, "sources": Source, "quotes": Quote, "metrics": Metric}


def sections(model):
    """The child-row sections of a record of `model`: an organisation has none."""
    return CHILDREN if model is Initiative else {}


def sibling_links(model):
    """{attname: child section} of `model`'s references to other rows of the same record:
    their values in a snapshot are keys, not pks."""
    names = {m: n for n, m in CHILDREN.items()}
    return {
        f.attname: names[f.related_model]
        for f in content_fields(model)
        if isinstance(f, models.ForeignKey) and f.related_model in names
    }


def content_fields(model):
    """The fields of `model` that are a record's content, in form order."""
    fields = []
    for field in model._meta.get_fields():
        if field.name in NOT_CONTENT or field.auto_created:
            continue
        if isinstance(field, models.ManyToManyField):
            if not field.remote_field.through._meta.auto_created:
                continue  # partners: kept as partnership rows
        elif not field.concrete:
            continue
        if isinstance(field, models.ForeignKey) and field.related_model is Initiative:
            continue  # a child's link to its record
        fields.append(field)
    return fields


def _plain(value):
    if isinstance(value, Country):
        return value.code
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _row(obj, model):
    row = {}
    for field in content_fields(model):
        if isinstance(field, models.ManyToManyField):
            row[field.attname] = (
                sorted(getattr(obj, field.name).values_list("pk", flat=True)) if obj.pk else []
            )
        else:
            row[field.attname] = _plain(getattr(obj, field.attname))
    return _keyed(row, model)


def _keyed(row, model):
    for attname in sibling_links(model):
        if row.get(attname) is not None:
            row[attname] = str(row[attname])
    return row


def snapshot(record):
    """The record (an initiative or an organisation) as it is in the database now."""
    data = {"fields": _row(record, type(record))}
    for name, model in sections(type(record)).items():
        rows = model.objects.filter(initiative=record.pk).order_by("pk")
        data[name] = {str(row.pk): _row(row, model) for row in rows}
    return data


def _version_row(version, model):
    values = version.field_dict
    row = {}
    for field in content_fields(model):
        value = values.get(field.attname)
        if isinstance(field, models.ManyToManyField):
            value = sorted(int(pk) for pk in (value or []))
        row[field.attname] = _plain(value)
    return _keyed(row, model)


def from_revision(revision, initiative_pk):
    """The record as one revision of its history holds it, or None if it holds no version."""
    versions = list(revision.version_set.all())
    types = {ContentType.objects.get_for_model(m).pk: m for m in (Initiative, *CHILDREN.values())}
    data = {"fields": None, **{name: {} for name in CHILDREN}}
    for version in versions:
        model = types.get(version.content_type_id)
        if model is Initiative and version.object_id == str(initiative_pk):
            data["fields"] = _version_row(version, Initiative)
        elif model is not None and model is not Initiative:
            row_values = version.field_dict
            if str(row_values.get("initiative_id")) != str(initiative_pk):
                continue
            name = next(n for n, m in CHILDREN.items() if m is model)
            data[name][version.object_id] = _version_row(version, model)
    return data if data["fields"] is not None else None


# Showing a snapshot to people.

_TERM_MODELS = {
    "lead_organisation_id": Organisation,
    "sector_id": Sector,
    "drivers": Driver,
    "themes": Theme,
    "outcomes": Outcome,
    "barriers": Barrier,
    "places": Place,
    "organisation_id": Organisation,
}


class Names:
    """Looks up the names of the organisations, terms and places snapshots refer to, a query
    per kind however many snapshots are shown."""

    def __init__(self, *snapshots):
        wanted = {}
        for data in snapshots:
            if not data:
                continue
            rows = [data["fields"], *(r for n in CHILDREN for r in data.get(n, {}).values())]
            for row in rows:
                for attname, model in _TERM_MODELS.items():
                    value = row.get(attname)
                    ids = value if isinstance(value, list) else [value]
                    wanted.setdefault(model, set()).update(i for i in ids if i is not None)
        self.names = {
            model: {obj.pk: str(obj) for obj in model.objects.filter(pk__in=ids)}
            for model, ids in wanted.items()
        }

    def of(self, model, pk):
        found = self.names.get(model, {}).get(pk)
        return found if found is not None else f"(deleted {model._meta.verbose_name} {pk})"


def _label(field):
    return capfirst(field.verbose_name)


def _display(field, value, names):
    if value in (None, "", []):
        return ""
    if isinstance(field, models.BooleanField):
        return "Yes" if value else "No"
    if isinstance(field, models.ManyToManyField):
        return ", ".join(sorted(names.of(field.related_model, pk) for pk in value))
    if isinstance(field, models.ForeignKey) and field.attname in _TERM_MODELS:
        return names.of(field.related_model, value)
    if field.choices:
        return str(dict(field.flatchoices).get(_typed(field, value), value))
    return str(value)


def _typed(field, value):
    try:
        return field.to_python(value)
    except Exception:  # a value saved before a field changed type: show it as it was
        return value


def _child_text(name, row, data, names):
    """One child row in a sentence, as the case-study page would show it."""
    if name == "partnerships":
        role = dict(Partnership.Role.choices).get(row.get("role"), row.get("role"))
        text = f"{names.of(Organisation, row.get('organisation_id'))} ({role})"
        return f"{text}: {row['description']}" if row.get("description") else text
    if name == "sources":
        parts = [row.get("title") or "(untitled)"]
        parts += [
            row[key] for key in ("author", "publisher", "url", "published_on") if row.get(key)
        ]
        if row.get("accessed_on"):
            parts.append(f"accessed {row['accessed_on']}")
        return ", ".join(parts)
    if name == "quotes":
        text = f"“{' '.join((row.get('text') or '').split())}”"
        if row.get("locator"):
            text += f" ({row['locator']})"
        return text + f"; from: {_cited_title(data, row.get('source_id'))}"
    metric = Metric(
        label=row.get("label") or "",
        value=Decimal(row.get("value") or 0),
        unit=row.get("unit") or "",
        direction=row.get("direction") or "",
    )
    text = str(metric)
    extra = [row[key] for key in ("baseline", "period") if row.get(key)]
    if extra:
        text += f" ({', '.join(extra)})"
    source = row.get("source_id")
    if source is not None:
        text += f"; source: {_cited_title(data, source)}"
    quote = row.get("quote_id")
    if quote is not None:
        cited = data["quotes"].get(quote)
        words = " ".join(cited["text"].split()) if cited else ""
        text += f"; passage: “{words}”" if cited else "; passage: (no longer on the record)"
    return text


def _cited_title(data, key):
    if key is None:
        return "(no source)"
    cited = data["sources"].get(key)
    return cited["title"] if cited else "(a source no longer on the record)"


def complete(data, model=Initiative):
    """`data` with every section, so a snapshot made before a kind of child row existed
    (a proposal kept from then) reads as having none of them."""
    for name in sections(model):
        data.setdefault(name, {})
    return data


def describe(data, names, model=Initiative):
    """The record as rows of (label, text), every field and relation, in form order."""
    complete(data, model)
    rows = []
    for field in content_fields(model):
        rows.append((_label(field), _display(field, data["fields"].get(field.attname), names)))
    for name, child in sections(model).items():
        label = capfirst(child._meta.verbose_name_plural)
        texts = [_child_text(name, row, data, names) for row in data[name].values()]
        rows.append((label, texts))
    return rows


class Change(NamedTuple):
    label: str
    before: object  # text, or for a relation the lines only `old` has
    after: object
    many: bool  # a relation: before and after are lists of lines


def differences(old, new, names, model=Initiative):
    """What changed from `old` to `new`: (label, removed or old text, added or new text).

    Scalar fields give one text each side; relations give the lines only one side has.
    `old` may be None (a record's first version): then everything in `new` is added.
    """
    before = dict(describe(old, names, model)) if old else {}
    changes = []
    for label, after in describe(new, names, model):
        previous = before.get(label, [] if isinstance(after, list) else "")
        if isinstance(after, list):
            removed = [t for t in previous if t not in after]
            added = [t for t in after if t not in previous]
            if removed or added:
                changes.append(Change(label, removed, added, True))
        elif previous != after:
            changes.append(Change(label, previous, after, False))
    return changes


# Proposals: a change set from one snapshot to another, applied to the live record.


def renumber_new_rows(base, proposed, model=Initiative):
    """Key the rows `proposed` has and `base` lacks "new-N": their pks came from a save that
    was rolled back and mean nothing outside it."""
    base, proposed = complete(base, model), complete(proposed, model)
    renamed = {}
    for name in sections(model):
        rows = {}
        count = 0
        for key, row in proposed[name].items():
            if key in base[name]:
                rows[key] = row
            else:
                renamed[(name, key)] = new_key = f"new-{count}"
                count += 1
                rows[new_key] = row
        proposed[name] = rows
    for name, child in sections(model).items():
        for row in proposed[name].values():
            for attname, target in sibling_links(child).items():
                if row.get(attname) is not None:
                    row[attname] = renamed.get((target, row[attname]), row[attname])
    return proposed


def field_label(name, attname, model=Initiative):
    if name == "fields":
        field = next(f for f in content_fields(model) if f.attname == attname)
        return _label(field)
    return capfirst(CHILDREN[name]._meta.verbose_name)


def merge(base, proposed, live, model=Initiative):
    """Apply what changed from `base` to `proposed` onto `live`.

    Returns (merged snapshot, conflicts): a conflict is a field or row the proposal changes
    that has also changed in the live record since, named for people. Nothing else the live
    record gained since is undone.
    """
    base, proposed = complete(base, model), complete(proposed, model)
    children = sections(model)
    merged = {"fields": dict(live["fields"]), **{n: dict(live[n]) for n in children}}
    conflicts = []
    for attname, new in proposed["fields"].items():
        old = base["fields"].get(attname)
        now = live["fields"].get(attname)
        if new == old or now == new:
            continue
        if now != old:
            conflicts.append(field_label("fields", attname, model))
        else:
            merged["fields"][attname] = new
    for name in children:
        for key in [*base[name], *(k for k in proposed[name] if k not in base[name])]:
            old, new, now = base[name].get(key), proposed[name].get(key), live[name].get(key)
            if old == new or now == new:
                continue
            if old is None:
                merged[name][key] = new  # added by the proposal
            elif now != old:
                conflicts.append(f"{field_label(name, None)}: {key_text(name, old)}")
            elif new is None:
                del merged[name][key]
            else:
                merged[name][key] = new
    for name, child in children.items():
        for row in merged[name].values():
            for attname, target in sibling_links(child).items():
                if row.get(attname) is not None and row[attname] not in merged[target]:
                    conflicts.append(
                        f"{field_label(name, None)}: {key_text(name, row)} cites a "
                        f"{CHILDREN[target]._meta.verbose_name} no longer on the record"
                    )
    return merged, sorted(set(conflicts))


def key_text(name, row):
    if name == "quotes":
        words = " ".join((row.get("text") or "").split())
        return f"“{words[:60]}…”" if len(words) > 60 else f"“{words}”"
    return row.get("title") or row.get("label") or row.get("role") or name


def write(record, data):
    """Make the saved `record` (an initiative or an organisation) and its rows what `data`
    says: every field, tag and row.

    Validates as the models do and raises ValidationError before writing anything wrong.
    Call inside a transaction.
    """
    from django.core.exceptions import ValidationError

    m2m = {}
    for field in content_fields(type(record)):
        value = data["fields"].get(field.attname)
        if isinstance(field, models.ManyToManyField):
            m2m[field.name] = field.related_model.objects.filter(pk__in=value or [])
        else:
            setattr(record, field.attname, _typed(field, value))
    record.full_clean(exclude=["search_vector"])
    record.save()
    for name, terms in m2m.items():
        getattr(record, name).set(terms)

    children = sections(type(record))
    existing = {
        name: {str(obj.pk): obj for obj in model.objects.filter(initiative=record)}
        for name, model in children.items()
    }
    # Removals first (referring rows before the rows they refer to), so a row removed and
    # added again never meets itself in a constraint.
    for name in reversed(children):
        for key, obj in existing[name].items():
            if key not in data[name]:
                obj.delete()
    pks = {name: {} for name in children}  # snapshot key -> pk of the row written
    for name, model in children.items():
        links = sibling_links(model)
        for key, row in data[name].items():
            obj = existing[name].get(key) or model(initiative=record)
            for field in content_fields(model):
                value = row.get(field.attname)
                if field.attname in links and value is not None:
                    value = pks[links[field.attname]].get(value, value)
                setattr(obj, field.attname, _typed(field, value))
            try:
                obj.full_clean(exclude=["initiative"])
            except ValidationError as error:
                raise ValidationError(
                    f"{capfirst(model._meta.verbose_name)} “{key_text(name, row)}”: "
                    + " ".join(error.messages)
                ) from error
            obj.save()
            pks[name][key] = str(obj.pk)
