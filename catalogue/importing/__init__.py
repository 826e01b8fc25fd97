"""What the import commands do: the EU Public Sector Tech Watch import (pstw/, for
manage.py import_pstw) and the restore of an export (restore/, for manage.py
import_catalogue)."""
