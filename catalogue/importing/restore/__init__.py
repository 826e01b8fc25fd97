"""Restoring a file written by export_catalogue into an empty catalogue (manage.py
import_catalogue).

- values.py: how values are checked and shown;
- reading.py: the Reader, which walks the file's sections one record at a time;
- checking.py: the Checker, the first reading: every record checked, every problem listed;
- inserting.py: the Restorer, the second reading: everything inserted in one transaction.


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

from catalogue.importing.restore.inserting import Restorer

__all__ = ["Restorer"]
