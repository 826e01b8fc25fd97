"""Reading a file: its header checked and its sections, one record at a time."""

import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from types import GeneratorType

from django.core.management.base import CommandError

from catalogue.importing.restore.values import HEADER, and_join, is_id, shown
from catalogue.transfer import (
    FORMAT,
    SECTION_NAMES,
    SECTIONS,
    VERSION,
    JSONStream,
    JSONStreamError,
)


class Reader:
    """Walks a file's sections; the first and the second reading both use it."""

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
