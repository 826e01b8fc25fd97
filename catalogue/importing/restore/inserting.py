"""The second reading: everything inserted in one transaction, as checked."""

from collections import Counter, defaultdict
from contextlib import contextmanager

from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import DatabaseError, connection, reset_queries, transaction

from catalogue.importing.restore.checking import Checker
from catalogue.importing.restore.reading import file_stamp
from catalogue.importing.restore.values import and_join
from catalogue.transfer import (
    SECTIONS,
)


class Restorer(Checker):
    """Restores one file; run() checks it whole, then inserts it (all or nothing)."""

    def __init__(self, *, batch_size=1000, progress):
        self.batch_size, self.progress = batch_size, progress

    def run(self, source):
        """{section name: records imported} from `source` (a path, or - for stdin); sets
        `present` (reference sections already there) and `unlinked` (Counter of usernames
        not found)."""
        self.refuse_unless_empty()
        with self.readable(source) as path:
            self.stamp = file_stamp(path)
            self.check_file(path)
            counts = self.insert(path)
        self.analyze()
        return counts

    def refuse_unless_empty(self):
        filled = [
            (section.model._meta, count)
            for section in SECTIONS
            if not section.reference and (count := section.model._default_manager.count())
        ]
        if filled:
            listed = and_join(
                f"{count:,} {meta.verbose_name if count == 1 else meta.verbose_name_plural}"
                for meta, count in filled
            )
            raise CommandError(
                f"The catalogue is not empty ({listed}). import_catalogue only restores into an "
                "empty catalogue (taxonomies and places may be present where identical to the "
                "file's). Nothing was imported."
            )

    def insert(self, path):
        counts = {}
        self.unlinked = Counter()
        models = [section.model for section in SECTIONS]
        try:
            with transaction.atomic(), stored_as_given(models):
                # In case anything was added since the check.
                self.refuse_unless_empty()
                # What is inserted must be what was checked.
                self.refuse_if_changed(path)
                for section, records in self.sections(path):
                    if section.name in self.present:
                        there = self.present[section.name]
                        records = (r for r in records if r["id"] not in there)
                    counts[section.name] = self.insert_section(section, records)
                self.refuse_if_changed(path)
                self.reset_sequences()
        except DatabaseError as error:
            raise CommandError(
                f"The database refused the import, so nothing was imported: {error}"
            ) from error
        return counts

    def refuse_if_changed(self, path):
        if file_stamp(path) != self.stamp:
            raise CommandError(f"{path} changed while it was being imported; nothing was imported.")

    def insert_section(self, section, records):
        model = section.model
        total = self.counts[section.name]
        pending, links, done = [], defaultdict(list), 0

        def flush():
            model._default_manager.bulk_create(pending)
            for m2m, rows in links.items():
                m2m.remote_field.through._default_manager.bulk_create(rows)
            pending.clear()
            links.clear()
            reset_queries()  # with DEBUG on, Django would keep every query's SQL

        for index, record in enumerate(records):
            instance, tags, users = self.build(section, index, record, check=False)
            for attname, username in users.items():
                if username is not None and username not in self.users:
                    self.unlinked[username] += 1
                setattr(instance, attname, self.users.get(username))
            pending.append(instance)
            for m2m, ids in tags.items():
                through = m2m.remote_field.through
                source = f"{m2m.m2m_field_name()}_id"
                target = f"{m2m.m2m_reverse_field_name()}_id"
                links[m2m] += [through(**{source: instance.pk, target: pk}) for pk in ids]
            done += 1
            if len(pending) >= self.batch_size:
                flush()
                self.progress.tick(f"importing {section.name}", done, total)
        flush()
        self.progress.finished(f"imported {section.name}", done)
        return done

    def reset_sequences(self):
        """Move PostgreSQL's id sequences past the ids imported, so new records do not clash."""
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), all_models()):
                cursor.execute(sql)

    def analyze(self):
        """Fresh planner statistics for the tables just filled (PostgreSQL)."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in all_models():
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def all_models():
    """The models of every section, and the link tables of their tags."""
    models = [section.model for section in SECTIONS]
    return models + [f.remote_field.through for s in SECTIONS for f in s.many_to_many]


@contextmanager
def stored_as_given(models):
    """Let bulk_create store updated_at (auto_now) and the like as the file has them."""
    fields = [
        f
        for model in models
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add
