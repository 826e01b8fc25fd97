"""Export the whole catalogue to one JSON file, which import_catalogue restores.

The file format ("catalogue-export", version 2)
------------------------------------------------

One UTF-8 JSON object. First the header, then one array per model, in this order, which is
the order of dependence (every reference points at an array before it)::

    {"format": "catalogue-export", "version": 2, "exported_at": "2026-11-30T09:15:02.123456+00:00",
    "drivers": [...], "themes": [...], "outcomes": [...], "barriers": [...], "sectors": [...],
    "places": [...], "organisations": [...], "initiatives": [...], "partnerships": [...],
    "sources": [...], "quotes": [...], "metrics": [...]}

- Each record is an object holding "id" (its primary key, kept on import, so references
  survive) and then every concrete field of its model by field name, as of
  version 2 (version 1 had no quotes, unnamed or copy_file):

  - drivers, themes, outcomes, barriers: name, slug, description; sectors also cofog_code
  - places: country (ISO code), region (ITL1 code or "")
  - organisations: name, slug, kind, country, website, unnamed
  - initiatives: title, slug, summary, challenge, approach, results, lessons,
    lead_organisation, sector, innovation_type, stage, start_year, end_year, website,
    nuts_code, collaboration_type, funding, pstw_id, evidence_level, status, published_at,
    created_at, updated_at, created_by, updated_by, and the tags drivers, themes, outcomes,
    barriers and places as sorted lists of ids
  - partnerships: initiative, organisation, role, description
  - sources: initiative, title, publisher, author, url, published_on, accessed_on,
    copy_file
  - quotes: initiative, source, text, locator
  - metrics: initiative, label, value, unit, direction, baseline, period, source, quote

- A reference to another catalogue record (lead_organisation, sector, initiative, source...)
  is that record's id, or null.
- created_by and updated_by are usernames, or null: users are not catalogue records, so the
  import links each to the existing user of that name, or leaves it empty.
- Date-times are ISO 8601 with their UTC offset, dates ISO 8601, decimals (metric values)
  strings, so that nothing is rounded through a float.
- Not exported: the initiative's search_vector, which the database derives (migration 0002's
  triggers recompute it on import); the catalogue version row (migration 0003); history
  (django-reversion) and users.
- Records are sorted by id, and written one to a line, so two exports diff readably.

The reader accepts any JSON layout, but "format" and "version" must come before the first
array, and the arrays in the order above. A record's unknown key is an error; a missing field
takes the model's default (or is reported, if the field has none). A change to this layout
or to the meaning of a field gets a new version number.

The export reads one consistent snapshot (a single REPEATABLE READ, READ ONLY transaction on
PostgreSQL), streams each table in primary key order in chunks with their tags fetched per
chunk, and writes as it goes, so memory stays flat whatever the catalogue's size. The file is
written under a temporary name and renamed when complete; "-" writes to stdout instead.
"""

import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries, transaction
from django.utils import timezone

from catalogue.progress import Progress
from catalogue.transfer import FORMAT, SECTIONS, VERSION, chunks, count_phrase


class Command(BaseCommand):
    help = (
        "Write every catalogue record, with its tags and links, to one JSON file (or - for "
        "stdout) that import_catalogue restores. The format is described in this command's "
        "module docstring."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", help="The file to write, or - for standard output.")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=2000,
            help="Records read from the database at a time (default 2000).",
        )

    def handle(self, *args, out, chunk_size, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        started = time.monotonic()
        to_stdout = out == "-"
        self.chunk_size = chunk_size
        self.progress = Progress(self.stderr, options["verbosity"], started)
        with self.progress, self.output(out) as stream, self.snapshot():
            counts = self.export(stream)
        where = "standard output" if to_stdout else out
        summary = self.style.SUCCESS(
            f"Exported {count_phrase(counts)} to {where} in {time.monotonic() - started:.1f} s."
        )
        # With the file on stdout, the summary must not end up inside it.
        (self.stderr if to_stdout else self.stdout).write(summary, style_func=lambda s: s)

    @contextmanager
    def output(self, out):
        if out == "-":
            yield StdoutWriter(self.stdout)
            return
        path = Path(out)
        if path.is_dir():
            raise CommandError(f"{out} is a directory.")
        try:
            handle, temporary = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
            )
        except OSError as error:
            raise CommandError(f"Cannot write {out}: {error}") from error
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                yield stream
            # mkstemp makes the file private; give it the mode a new file would have.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @contextmanager
    def snapshot(self):
        """One transaction, so that every table is read as of the same moment."""
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    def export(self, stream):
        User = get_user_model()
        self.usernames = dict(User._default_manager.values_list("pk", User.USERNAME_FIELD))
        stream.write(
            f'{{"format": {json.dumps(FORMAT)}, "version": {VERSION}, '
            f'"exported_at": {json.dumps(timezone.now().isoformat())}'
        )
        counts = {}
        for section in SECTIONS:
            stream.write(f",\n{json.dumps(section.name)}: [")
            total = section.model._default_manager.count()
            done = 0
            for chunk in chunks(section, self.chunk_size, self.usernames):
                lines = [json.dumps(record, ensure_ascii=False) for record in chunk]
                stream.write(("," if done else "") + "\n" + ",\n".join(lines))
                done += len(lines)
                self.progress.tick(section.name, done, total)
                # With DEBUG on, Django would keep every query's SQL.
                reset_queries()
            stream.write("\n]" if done else "]")
            counts[section.name] = done
            self.progress.finished(section.name, done)
        stream.write("\n}\n")
        return counts


class StdoutWriter:
    """The command's stdout as a plain stream (OutputWrapper would end every write with a
    newline)."""

    def __init__(self, stdout):
        self.stdout = stdout

    def write(self, text):
        self.stdout.write(text, ending="")
