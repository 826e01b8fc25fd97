"""The EU Public Sector Tech Watch import (manage.py import_pstw): a CSV export of the case
list into the catalogue.

- tables.py: the value tables (columns, vocabularies, countries, NUTS codes);
- reading.py: the file into rows of values, and the helpers that clean values;
- mapping.py: each row into a Mapped (the record's values), with no database access;
- writing.py: the Importer, which writes the mapped rows in the open transaction.

10.2905/JRC.J1MWC9R, licence CC BY 4.0. Every imported record cites it as a source.

How the rows become records:

- A row is matched to a record by its PSTW ID, so importing a newer snapshot updates the
  records instead of duplicating them. A record whose mapped state is what is stored is not
  written at all ("unchanged").
- The importer owns the fields it maps (title, summary, approach, website, years, stage,
  sector, lead organisation, NUTS code, collaboration type, funding) and overwrites them on
  re-import; the history keeps every earlier version. It never changes a record's status
  (other than publishing drafts with --publish) or its slug, and never removes a tag: its
  themes, outcomes, driver and places are added to whatever an editor has tagged. Of the
  sources it replaces only its own: those whose publisher is CITED_VIA, and the dataset
  attribution (publisher DATASET_PUBLISHER, URL DATASET_URL).
- Rows that cannot make a record (no or duplicate PSTW ID, no name, no responsible
  organisation, a database error) are rejected and listed with their CSV line; everything
  else imports, with a warning for each value that could not be mapped (left blank).
- So are rows that cannot be read as one: a number of values other than the header's (a
  quote left open makes csv read the rows after it into one value: those lines are read
  again, as rows), a NUL character or a value longer than VALUE_LENGTH in a column the
  importer reads, a PSTW ID not written in ASCII digits. A file is refused whole only when
  it cannot be read at all: not UTF-8, no header, a column missing, or one given twice.
- One outer transaction, a savepoint per row, one django-reversion revision per record.
  Rows are mapped first; new organisations are then saved in one statement, each record in
  its savepoint, and the tag links of all records at the end (see writing.Importer.run).

Decisions the data forced (the value tables follow):

- Organisations are matched on their name (whitespace collapsed, any case) *and* country:
  "Ministry of Finance" is a different body in each of eight countries. A body without a
  country (a European institution, or an EU-wide case) matches one of that name anywhere.
  A name too long for the name field (two rows: a list of bodies, and a paragraph about the
  body) is shortened to the first body named, and the full text goes into `approach`.
- NUTS: two-letter codes (IT, UK, EL, EU) are country level and not stored; UE, ALB, SRB
  and GR are the EU, Albania, Serbia and Greece written the wrong way, so country level too;
  ND ("not defined") is treated as blank. UK codes also give the ITL1 region (UKI31 -> TLI).
  The country column wins over a NUTS code of another country (a warning says so).
- URLs that the export's find-and-replace of "PoC" by "Proof of Concept" broke in two are
  kept as text, never as (wrong) links.
"""

from catalogue.importing.pstw.reading import read_csv
from catalogue.importing.pstw.writing import Importer

__all__ = ["Importer", "read_csv"]
