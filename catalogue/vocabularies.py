"""The vocabularies the catalogue is sliced by (themes, drivers, outcomes, barriers, sectors):
one registry, derived from the Taxonomy models, that every other part reads.

Each Taxonomy subclass declares its `filter_param`; the rest follows from the models: the
field of Initiative that links to it (a many-to-many, or the sector's foreign key), its label
("Theme") and its plural ("themes": the API route, the catalogue file's section). Adding a
vocabulary is a model, its field on Initiative and a migration: the list's filter and facet,
the API's route and serializers, the exports and the catalogue file all follow from here.

Terms (slug, name, id) are read by many parts of every page: once per request, and on
PostgreSQL through the cache under the catalogue version, which the database's triggers
change on any write to a vocabulary from any process (the admin, a shell, import_pstw), so
every worker sees a renamed or added term on its next request.
"""

from dataclasses import dataclass

from django.db.models import Value
from django.db.models.signals import post_delete, post_save

from catalogue import caching
from catalogue.models import Initiative, Taxonomy


@dataclass(frozen=True)
class Vocabulary:
    """One vocabulary, and where it lives."""

    model: type[Taxonomy]
    # The list's filter parameter, the facet's name, the API's route ("theme").
    param: str
    # Initiative's field that links to it ("themes"; "sector").
    field: str
    # Several terms to an initiative (a link table), or one (a column on the initiative).
    many: bool

    @property
    def label(self):
        """As the filter panel and the API's filters name it: "Theme"."""
        return self.model._meta.verbose_name.capitalize()

    @property
    def plural(self):
        """The API's collection and the catalogue file's section: "themes"."""
        return f"{self.param}s"

    @property
    def name(self):
        """The model's name ("theme"): the key of its terms in vocabularies()."""
        return self.model._meta.model_name

    @property
    def link_table(self):
        """The table linking initiatives to terms (None for a column on the initiative)."""
        if not self.many:
            return None
        return Initiative._meta.get_field(self.field).remote_field.through._meta.db_table

    @property
    def column(self):
        """The term's id column, in the link table or on the initiative: "theme_id"."""
        return f"{self.name}_id"


def _derive():
    fields = {
        field.related_model: field
        for field in Initiative._meta.get_fields()
        if field.is_relation and not field.auto_created and field.related_model is not None
    }
    found = []
    # Subclasses in the order models.py declares them, which is the order shown everywhere.
    for model in Taxonomy.__subclasses__():
        field = fields.get(model)
        if field is None or not model.filter_param:
            raise TypeError(f"{model.__name__} needs a filter_param and a field on Initiative")
        found.append(Vocabulary(model, model.filter_param, field.name, field.many_to_many))
    return tuple(found)


VOCABULARIES = _derive()
BY_PARAM = {vocabulary.param: vocabulary for vocabulary in VOCABULARIES}
BY_MODEL = {vocabulary.model: vocabulary for vocabulary in VOCABULARIES}
PARAMS = tuple(BY_PARAM)


@dataclass(frozen=True)
class VocabularyTerm:
    """One term of a vocabulary (a theme, a driver...), as the filters and facets use it."""

    id: int
    slug: str
    name: str


def terms(vocabulary):
    """{slug: VocabularyTerm} for one vocabulary (a Vocabulary, a param or a model), ordered
    by name."""
    if isinstance(vocabulary, str):
        vocabulary = BY_PARAM[vocabulary]
    elif not isinstance(vocabulary, Vocabulary):
        vocabulary = BY_MODEL[vocabulary]
    return all_terms()[vocabulary.name]


def all_terms():
    """{model name: {slug: VocabularyTerm}} for every vocabulary, once per request (one query,
    or none when the catalogue version's cache has them)."""
    return caching.per_request("vocabularies", _terms_of_this_version)


# The last terms read, by their cache key: most requests follow the same catalogue version,
# and the cache would unpickle them (or fetch them from Redis) for each.
_last_read = (None, None)


def forget_last_read():
    """Drop the terms kept in this process (for tests that roll the version back)."""
    global _last_read
    _last_read = (None, None)


def _terms_of_this_version():
    global _last_read
    key = caching.key(None, "terms")
    kept_key, kept = _last_read
    if key is not None and key == kept_key:
        return kept
    found = caching.cached(key, _read_terms)
    _last_read = (key, found)
    return found


def _read_terms():
    found = {vocabulary.name: {} for vocabulary in VOCABULARIES}
    rows = [
        vocabulary.model.objects.order_by()
        .annotate(kind=Value(vocabulary.name))
        .values_list("kind", "pk", "slug", "name")
        for vocabulary in VOCABULARIES
    ]
    for kind, pk, slug, name in rows[0].union(*rows[1:], all=True).order_by("kind", "name"):
        found[kind][slug] = VocabularyTerm(pk, slug, name)
    return found


def _forget_terms(sender, **kwargs):
    # This request's own change (the admin's next read in it sees the new term); other
    # requests and processes follow the catalogue version.
    caching.forget("version")
    caching.forget("vocabularies")


def connect_signals():
    """Forget this request's terms when a term is saved or deleted (apps.py)."""
    for vocabulary in VOCABULARIES:
        model = vocabulary.model
        post_save.connect(_forget_terms, sender=model, dispatch_uid=f"terms-{model.__name__}")
        post_delete.connect(_forget_terms, sender=model, dispatch_uid=f"terms-{model.__name__}-d")
