"""Restore a file written by export_catalogue into an empty catalogue.

What "empty" means: the organisations, initiatives (with their tags), partnerships, sources
and metrics must have no rows at all, since merging two catalogues would need rules for
clashing ids and slugs that a restore should not guess. Reference data (the five taxonomies
and the places) is different: a fresh database is usually given it by `seed_catalogue` or
`loaddata taxonomies.json` before anything else, so each of those tables may either be empty
(the file's rows are inserted) or already hold exactly the file's rows, id for id and field
for field (they are left as they are). Anything else is refused, with the differences listed.

All or nothing. The file is read twice, one record at a time, so its size does not matter:
first every record is checked (each field as the model's full_clean would, references to
records, tags and users, duplicate ids, slugs and other unique values within the file, and
the models' check constraints, evaluated in Python), and every problem is reported with its
position, e.g. "initiatives[12] (slug 'x'): lead_organisation 99 does not exist". If there
is any problem, nothing is written. Otherwise the second reading inserts everything in one
transaction with bulk_create in batches, keeping every id, created_at and updated_at as they
are in the file; on PostgreSQL the id sequences are then moved past the highest ids, and the
database's triggers fill in the search vectors and bump the catalogue version as the rows go
in. created_by and updated_by are linked to the existing user of that username, or left
empty (the summary says how many were).

The checks add the admin's where the models' own validation leaves them out: each value must
be of the JSON type export_catalogue writes its field as (a year a whole number, a date
text); text no longer than its field's max_length (a TextField's too), with no NUL; an id
from 1 to MAX_ID; a key given once; and a metric's source and quote, and a quote's source,
must be those of its own record (and a metric's quote from its source). JSON that cannot be
read (nested too deeply, say) is refused with its line, column and the record being read.

Imported records get no django-reversion history entry; their history starts with the next
edit.
"""

import math
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path
from types import GeneratorType

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.core.validators import MaxLengthValidator
from django.db import DatabaseError, connection, models, reset_queries, transaction
from django.db.models import CheckConstraint, DateTimeField, UniqueConstraint
from django.utils import timezone

from catalogue.transfer import (
    FORMAT,
    SECTION_NAMES,
    SECTIONS,
    VERSION,
    JSONStream,
    JSONStreamError,
    Progress,
    Unsupported,
    chunks,
    count_phrase,
    evaluate,
    referenced,
)

HEADER = ("format", "version", "exported_at")
# The largest id a record may have. The ids are bigint (BigAutoField), but after an import
# each sequence is moved past the highest id: one near 2**63 - 1 would leave it no room, and
# every new record would fail. 2**31 - 1 is far beyond any catalogue's size (it is also the
# largest id an integer column holds) and leaves the sequences 2**63 - 2**31 ids more.
MAX_ID = 2**31 - 1


def is_id(value):
    return isinstance(value, int) and not isinstance(value, bool)


def shown(value, limit=80):
    """A value from the file as a problem shows it: as Python writes it, cut short."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "-Infinity" if value < 0 else "Infinity"
    text = repr(value)
    if len(text) > limit:
        length = f"{len(value):,} characters" if isinstance(value, str) else "cut"
        return f"{text[: limit - 1]}… ({length})"
    return text


def unstorable(text):
    """Why the database cannot store some text, or None. PostgreSQL's text holds no NUL (and
    the admin's forms refuse one); JSON can escape half a surrogate pair, which is no
    character and cannot be encoded for any database."""
    if "\x00" in text:
        return "Null characters are not allowed."
    try:
        text.encode()
    except UnicodeEncodeError as error:
        return (
            f"{text[error.start]!r} at character {error.start + 1:,} is half a surrogate "
            "pair, not a character"
        )
    return None


def could_be_username(text):
    User = get_user_model()
    limit = User._meta.get_field(User.USERNAME_FIELD).max_length
    return not unstorable(text) and len(text) <= limit


# References that two records must share when one names the other: a record's sources and
# quotes are its own (the admin offers no others), and a metric's quote is from the source the
# metric cites ("This passage is from another source").
AGREEING = ("initiative", "source")


def has_reference(model, name):
    try:
        return model._meta.get_field(name).many_to_one
    except FieldDoesNotExist:
        return False


def repeated_keys(record):
    return getattr(record, "repeated", ())


def json_kind(f):
    """(JSON types, in words) of a field's values, as export_catalogue writes them."""
    if isinstance(f, models.BooleanField):
        return (bool,), "true or false"
    if isinstance(f, models.IntegerField):
        return (int,), "a whole number"
    if isinstance(f, models.FloatField):
        return (int, float), "a number"
    if isinstance(f, models.DecimalField):
        return (str, int), 'a decimal number written as text, e.g. "12.50"'
    if isinstance(f, models.DateTimeField):
        return (str,), 'a date and time written as text, e.g. "2024-02-29T12:00:00+00:00"'
    if isinstance(f, models.DateField):
        return (str,), 'a date written as text, e.g. "2024-02-29"'
    return (str,), "text"


def written_as(f, value):
    """Whether a (non-null) value is of a JSON type the field is written as."""
    types = json_kind(f)[0]
    if isinstance(value, bool):  # an int to Python
        return bool in types
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, types)


def position(section, index, record):
    """'initiatives[12] (slug 'x')': where a record is, and which it is."""
    where = f"{section.name}[{index}]"
    if isinstance(record, dict):
        if "slug" in section.keys and isinstance(record.get("slug"), str):
            return f"{where} (slug {shown(record['slug'])})"
        if is_id(record.get("id")):
            return f"{where} (id {record['id']})"
    return where


def unique_sets(section):
    """(field names, condition or None) of every uniqueness rule of the section's model."""
    meta = section.model._meta
    rules = [((f.name,), None) for f in section.fields if f.unique]
    rules += [(tuple(names), None) for names in meta.unique_together]
    rules += [
        (tuple(c.fields), c.condition)
        for c in meta.constraints
        if isinstance(c, UniqueConstraint) and c.fields and not c.expressions
    ]
    return rules


def and_join(words):
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class Command(BaseCommand):
    help = (
        "Restore a file written by export_catalogue (or - for stdin) into an empty catalogue, "
        "all or nothing: every record is checked first and every problem reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="The file to read, or - for standard input.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="Records inserted per statement (default 1000).",
        )

    def handle(self, *args, source, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        started = time.monotonic()
        self.batch_size = batch_size
        self.progress = Progress(self.stderr, options["verbosity"], started)
        self.refuse_unless_empty()
        with self.readable(source) as path:
            self.stamp = file_stamp(path)
            self.check_file(path)
            counts = self.insert(path)
        self.analyze()

        elapsed = time.monotonic() - started
        where = "standard input" if source == "-" else source
        summary = f"Imported {count_phrase(counts)} from {where} in {elapsed:.1f} s."
        if self.present:
            kept = and_join(f"{len(ids):,} {name}" for name, ids in sorted(self.present.items()))
            summary += f" (Already present and kept: {kept}.)"
        if self.unlinked:
            names = ", ".join(sorted(self.unlinked))
            self.stderr.write(
                self.style.WARNING(
                    f"{self.unlinked.total():,} created_by/updated_by links left empty: no user "
                    f"named {names}."
                )
            )
            summary += f" {self.unlinked.total():,} user links left empty."
        self.stdout.write(self.style.SUCCESS(summary))

    @contextmanager
    def readable(self, source):
        """A path to read twice: the file itself, or standard input copied to a temporary file."""
        if source != "-":
            if not Path(source).is_file():
                raise CommandError(f"{source} does not exist or is not a file.")
            yield source
            return
        with tempfile.NamedTemporaryFile(suffix=".json") as copy:
            shutil.copyfileobj(getattr(sys.stdin, "buffer", sys.stdin), copy)
            copy.flush()
            yield copy.name

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

    # Reading.

    def sections(self, path):
        """(section, iterator over its records) for each array of the file, after checking
        the header and the order of the arrays."""
        try:
            with open(path, encoding="utf-8") as stream:
                header, expected, started = {}, iter(SECTIONS), False
                for key, value in JSONStream(stream).items():
                    if key in HEADER:
                        if key in header or started:
                            raise CommandError(
                                f"{path}: {shown(key)} is repeated or comes after the data; the "
                                f"header ({', '.join(HEADER)}) must come first, once."
                            )
                        header[key] = value
                        continue
                    self.check_header(path, header)
                    started = True
                    section = next(expected, None)
                    if section is None or key != section.name:
                        known = "an unknown key" if key not in SECTION_NAMES else "out of order"
                        raise CommandError(
                            f"{path}: found {shown(key)} ({known}) where "
                            f"{repr(section.name) if section else 'the end'} should be. The "
                            f"arrays must be {', '.join(SECTION_NAMES)}, in that order."
                        )
                    if not isinstance(value, GeneratorType):
                        raise CommandError(f"{path}: {shown(key)} must be an array of records.")
                    yield section, self.guarded(path, section, value)
                self.check_header(path, header)
                missing = [section.name for section in expected]
                if missing:
                    raise CommandError(f"{path}: the file has no {and_join(missing)} array.")
        except (JSONStreamError, UnicodeDecodeError, OSError) as error:
            raise unreadable(path, error) from error

    def guarded(self, path, section, records):
        """The records of a section, with reading errors reported as for the whole file and
        the record being read."""
        done = 0
        try:
            for record in records:
                yield record
                done += 1
        except (JSONStreamError, UnicodeDecodeError, OSError) as error:
            raise unreadable(path, error, f"{section.name}[{done}]") from error

    def check_header(self, path, header):
        if header.get("format") != FORMAT:
            found = repr(header["format"]) if "format" in header else "missing"
            raise CommandError(
                f"{path} is not a catalogue export: its format is {found}, not {FORMAT!r} "
                "(the header must come before the data)."
            )
        if "version" not in header:
            raise CommandError(
                f"{path} has no version before the data (the header must come first); this "
                f"command reads version {VERSION} only."
            )
        version = header["version"]
        if not is_id(version) or version != VERSION:
            raise CommandError(
                f"{path} is version {shown(version)} of the {FORMAT} format; this command reads "
                f"version {VERSION} only."
            )

    # The first reading: check everything.

    def check_file(self, path):
        self.problems = []
        self.ids = defaultdict(dict)  # model: {id: index}
        self.agreeing = defaultdict(dict)  # model: {id: {name in AGREEING: id}}
        self.unique = defaultdict(dict)  # (section name, field names): {values: index}
        self.counts = {}
        # Reference sections in the database already, each the ids it has (identical to the
        # file's): the migrations load the reference vocabularies, the file may have more.
        self.present = {}
        usernames = set()
        for section, records in self.sections(path):
            existing = self.existing(section) if section.reference else None
            in_file = {}
            done = 0
            for index, record in enumerate(records):
                _, _, users = self.build(section, index, record, check=True)
                usernames.update(name for name in users.values() if name is not None)
                if existing is not None and isinstance(record, dict) and is_id(record.get("id")):
                    in_file[record["id"]] = record
                done += 1
                self.progress.tick(f"checking {section.name}", done)
            self.counts[section.name] = done
            if existing:
                self.compare(section, existing, in_file)
            self.progress.finished(f"checked {section.name}", done)

        if self.problems:
            raise CommandError(
                f"{len(self.problems):,} problem{'s' if len(self.problems) > 1 else ''} in "
                f"{path}; nothing was imported:\n" + "\n".join(self.problems)
            )
        self.users = {}
        User = get_user_model()
        names = sorted(usernames)
        for start in range(0, len(names), 500):
            self.users.update(
                User._default_manager.filter(
                    **{f"{User.USERNAME_FIELD}__in": names[start : start + 500]}
                ).values_list(User.USERNAME_FIELD, "pk")
            )

    def existing(self, section):
        """{id: record} of a reference table as export_catalogue would write it; None if empty."""
        rows = {}
        for chunk in chunks(section, 5000, {}):
            rows.update((record["id"], record) for record in chunk)
        return rows or None

    def compare(self, section, existing, in_file):
        differences = []
        for pk in sorted(existing.keys() | in_file.keys()):
            ours, theirs = existing.get(pk), in_file.get(pk)
            if ours == theirs:
                continue
            if theirs is None:
                differences.append(f"id {pk} is only in the database")
            elif ours is None:
                continue  # a term the database lacks (the migrations' are a subset): added
            else:
                differences += [
                    f"id {pk} has {key} {shown(ours.get(key))} in the database but "
                    f"{shown(theirs.get(key))} in the file"
                    for key in section.keys
                    if ours.get(key) != theirs.get(key)
                ]
        if differences:
            self.problems.append(
                f"{section.name}: the database already has {section.label}, and they are not "
                f"the file's ({'; '.join(differences)}). Empty the table, or make it match."
            )
        else:
            self.present[section.name] = set(existing)

    def build(self, section, index, record, check):
        """An unsaved instance of a record, {tag field: ids} and {user field attname: username}.

        With check, every problem found is added to self.problems; without, the record is
        taken to have been checked, and its values are only converted.
        """
        where = position(section, index, record)
        if not isinstance(record, dict):
            self.problems.append(f"{where}: not a JSON object")
            return None, {}, {}
        problems = [f"unknown field {shown(key)}" for key in record if key not in section.keys]
        problems += [f"{shown(key)} is given more than once" for key in repeated_keys(record)]
        failed = set()  # fields with a problem, whose other rules are not checked

        def problem(name, message):
            problems.append(message)
            failed.add(name)

        pk = record.get("id")
        model = section.model
        if check:
            if not is_id(pk) or not 1 <= pk <= MAX_ID:
                problem("id", f"id {shown(pk)} is not a whole number from 1 to {MAX_ID:,}")
            elif (first := self.ids[model].setdefault(pk, index)) != index:
                problem("id", f"id {pk} is also used by {section.name}[{first}]")

        values, users, unchecked = {"pk": pk}, {}, {"id"}
        for f in section.fields:
            if f.name not in record:
                if f.is_relation and not f.null:
                    problem(f.name, f"{f.name} is missing")
                continue
            value = record[f.name]
            if f.name in section.users:
                unchecked.add(f.name)
                if value is None or (isinstance(value, str) and could_be_username(value)):
                    users[f.attname] = value
                else:
                    problem(f.name, f"{f.name} {shown(value)} is not a username")
            elif f.is_relation:
                unchecked.add(f.name)
                values[f.attname] = value
                if value is None:
                    if not f.null:
                        problem(f.name, f"{f.name} is missing")
                elif not is_id(value):
                    problem(f.name, f"{f.name} {shown(value)} is not an id")
                elif value not in self.ids[f.related_model]:
                    problem(f.name, f"{f.name} {value} does not exist")
            elif isinstance(value, list | dict):
                unchecked.add(f.name)
                problem(f.name, f"{f.name} must be a single value, not {type(value).__name__}")
            elif value is not None and not written_as(f, value):
                # Django's to_python would take some (int(2020.7) is 2020) and raise on
                # others (OverflowError for Infinity, TypeError for a number as a date).
                unchecked.add(f.name)
                problem(f.name, f"{f.name} {shown(value)} is not {json_kind(f)[1]}")
            elif isinstance(value, str) and (why := unstorable(value)):
                unchecked.add(f.name)
                problem(f.name, f"{f.name}: {why}")
            else:
                values[f.attname] = value

        links = {}
        for f in section.many_to_many:
            ids = record.get(f.name, [])
            if not isinstance(ids, list) or not all(is_id(pk) for pk in ids):
                problem(f.name, f"{f.name} must be a list of ids")
                continue
            links[f] = ids
            for pk in ids:
                if pk not in self.ids[f.related_model]:
                    problem(f.name, f"{f.name} {pk} does not exist")
            for pk in sorted(pk for pk, times in Counter(ids).items() if times > 1):
                problem(f.name, f"{f.name} lists {pk} more than once")

        if check:
            problems += self.disagreements(section, values, failed)

        instance = model(**values)
        if check:
            problems += self.validate(section, index, instance, record, unchecked, failed)
            self.problems += [f"{where}: {problem}" for problem in problems]
        else:
            for f in section.fields:
                if not f.is_relation:
                    setattr(instance, f.attname, f.to_python(getattr(instance, f.attname)))
        return instance, links, users

    def disagreements(self, section, values, failed):
        """Problems with references that must agree (see AGREEING): a metric's source and
        quote must be its initiative's, and its quote from its source."""
        mine = {
            name: values.get(f"{name}_id")
            for name in AGREEING
            if has_reference(section.model, name) and name not in failed
        }
        if "id" not in failed:
            self.agreeing[section.model][values["pk"]] = mine
        problems = []
        for f in section.fields:
            value = values.get(f.attname)
            if not f.is_relation or f.name in failed or value is None:
                continue
            for name, theirs in self.agreeing[f.related_model].get(value, {}).items():
                if mine.get(name) is not None and theirs is not None and theirs != mine[name]:
                    problems.append(
                        f"{f.name} {value} has {name} {theirs}, not {mine[name]} as this "
                        f"{section.model._meta.verbose_name} has"
                    )
                    failed.add(f.name)
        return problems

    def validate(self, section, index, instance, record, unchecked, failed):
        """Problems with a record's values: the model's own field validation, then the check
        constraints and uniqueness (within the file) of whichever fields are sound."""
        problems = []
        try:
            instance.clean_fields(exclude=unchecked)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                failed.add(name)
                problems += [f"{name}: {message}" for message in messages]
        for f in section.fields:
            value = getattr(instance, f.attname)
            if f.name in failed or f.is_relation:
                continue
            try:
                # What the insert does with it: model validation skips the conversion of an
                # empty value where blank is allowed ("" for a date, say).
                f.to_python(value)
            except ValidationError as error:
                problems += [f"{f.name}: {message}" for message in error.messages]
                failed.add(f.name)
                continue
            if f.max_length and not any(isinstance(v, MaxLengthValidator) for v in f.validators):
                # A TextField's max_length is its form's limit (the admin's), which model
                # validation leaves out: checked here, as the admin would.
                try:
                    MaxLengthValidator(f.max_length)(value or "")
                except ValidationError as error:
                    problems += [f"{f.name}: {message}" for message in error.messages]
                    failed.add(f.name)
                    continue
            if value is None and not f.null:
                problems.append(
                    f"{f.name} cannot be null" if f.name in record else f"{f.name} is missing"
                )
                failed.add(f.name)
            elif isinstance(f, DateTimeField) and value is not None and timezone.is_naive(value):
                problems.append(f"{f.name} {shown(record[f.name])} has no time zone (UTC offset)")
                failed.add(f.name)

        if not failed:
            try:
                instance.clean()
            except ValidationError as error:
                problems += error.messages
        values = {f.name: getattr(instance, f.attname) for f in section.fields}
        for constraint in section.model._meta.constraints:
            if isinstance(constraint, CheckConstraint) and not failed & referenced(
                constraint.condition
            ):
                try:
                    if evaluate(constraint.condition, values) is False:
                        problems.append(str(constraint.get_violation_error_message()))
                except Unsupported:
                    pass  # the database checks it still
        for names, condition in unique_sets(section):
            if failed & {*names, *(referenced(condition) if condition else ())}:
                continue
            try:
                if condition is not None and evaluate(condition, values) is not True:
                    continue
            except Unsupported:
                continue
            key = tuple(values[name] for name in names)
            if None in key:
                continue
            first = self.unique[section.name, names].setdefault(key, index)
            if first != index:
                same = shown(key[0]) if len(key) == 1 else shown(key)
                verb = "is" if len(key) == 1 else "are"
                problems.append(
                    f"{and_join(names)} {same} {verb} also used by {section.name}[{first}]"
                )
        return problems

    # The second reading: insert everything.

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


def file_stamp(path):
    """What changes when a file is rewritten."""
    stat = Path(path).stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def unreadable(path, error, reading=None):
    at = f", while reading {reading}" if reading else ""
    if isinstance(error, JSONStreamError):
        return CommandError(f"{path} is not a catalogue export: {error}{at}.")
    if isinstance(error, UnicodeDecodeError):
        return CommandError(f"{path} is not UTF-8 text: {error}{at}.")
    return CommandError(f"Cannot read {path}: {error}{at}")


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
