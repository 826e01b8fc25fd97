"""The first reading: every record checked as the model's full_clean would, and more
(see the package's docstring), and every problem listed with its position."""

from collections import Counter, defaultdict

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.validators import MaxLengthValidator
from django.db.models import CheckConstraint, DateTimeField
from django.utils import timezone

from catalogue.importing.restore.reading import Reader
from catalogue.importing.restore.values import (
    AGREEING,
    MAX_ID,
    and_join,
    could_be_username,
    has_reference,
    is_id,
    json_kind,
    position,
    repeated_keys,
    shown,
    unique_sets,
    unstorable,
    written_as,
)
from catalogue.transfer import (
    Unsupported,
    chunks,
    evaluate,
    referenced,
)


class Checker(Reader):
    """check_file() reads the whole file and raises CommandError listing every problem."""

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
