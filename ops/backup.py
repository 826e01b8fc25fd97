"""Back up the catalogue's PostgreSQL database, and check a restore against the backup.

    .venv/bin/python ops/backup.py dump DIR         # DATABASE_URL: the database to back up
    .venv/bin/python ops/backup.py verify MANIFEST  # DATABASE_URL: the restored database

`dump` writes DIR/catalogue-<UTC time>.dump (pg_dump's custom format) and, beside it,
.manifest.json: the row count and a SHA-256 of every table, read from the very snapshot the
dump was taken from. The archive is written under a temporary name, read back with
`pg_restore --list` (every table's data must be in it) and only then given its final name,
so a file with the final name is a complete, readable archive.

`verify` computes the same checksums on a database restored from that archive and lists every
table that differs; it exits 1 if any does.

pg_dump and pg_restore come from $PG_BIN if set, else the PATH; their major version must be
the server's (pg_dump refuses a newer server, and a newer pg_dump writes settings an older
server rejects). The password is passed to them in the environment, never on the command line.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# Fixed so that row text, and so the checksums, do not depend on the server's or the
# session's defaults (timestamptz is shown in the session's time zone).
SESSION = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
    "bytea_output": "hex",
}


def tool(name):
    directory = os.environ.get("PG_BIN")
    return str(Path(directory) / name) if directory else name


def libpq(url):
    """(connection string without the password, environment with PGPASSWORD) for pg_*."""
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    if password := params.pop("password", None):
        env["PGPASSWORD"] = password
    return make_conninfo("", **params), env


def connect(url):
    conn = psycopg.connect(url)
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    for name, value in SESSION.items():
        conn.execute("SELECT set_config(%s, %s, true)", [name, value])
    return conn


def checksums(conn):
    """{table: {"rows": n, "sha256": hex}} for every table of the current schema."""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
    ]
    result = {}
    for table in tables:
        digest, rows = hashlib.sha256(), 0
        query = sql.SQL('SELECT t::text FROM {} AS t ORDER BY t::text COLLATE "C"').format(
            sql.Identifier(table)
        )
        # A server-side cursor: memory stays flat however large the table.
        with conn.cursor(name=f"rows_{len(result)}") as cursor:
            cursor.itersize = 2000
            cursor.execute(query)
            for (text,) in cursor:
                digest.update(text.encode() + b"\n")
                rows += 1
        result[table] = {"rows": rows, "sha256": digest.hexdigest()}
    return result


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def dump(url, directory):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    archive = directory / f"catalogue-{stamp}.dump"
    manifest = archive.with_suffix(".manifest.json")
    partial = directory / f".{archive.name}.partial"
    if archive.exists():
        sys.exit(f"{archive} already exists.")
    conninfo, env = libpq(url)
    try:
        with connect(url) as conn:
            # pg_dump reads the snapshot this transaction exported, so the checksums below
            # describe exactly the data in the archive, even while the site takes edits.
            (snapshot,) = conn.execute("SELECT pg_export_snapshot()").fetchone()
            (server,) = conn.execute("SHOW server_version").fetchone()
            subprocess.run(
                [
                    tool("pg_dump"),
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={partial}",
                    f"--dbname={conninfo}",
                ],
                env=env,
                check=True,
            )
            tables = checksums(conn)
        listing = subprocess.run(
            [tool("pg_restore"), "--list", str(partial)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        with_data = {line.split()[-2] for line in listing.splitlines() if " TABLE DATA " in line}
        if missing := sorted(set(tables) - with_data):
            sys.exit(f"{partial}: no data for {', '.join(missing)}; the archive was not kept.")
        record = {
            "archive": archive.name,
            "archive_sha256": file_sha256(partial),
            "taken_at": datetime.now(UTC).isoformat(),
            "server_version": server,
            "tables": tables,
        }
        manifest.write_text(json.dumps(record, indent=1) + "\n")
        partial.rename(archive)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    rows = sum(table["rows"] for table in tables.values())
    print(f"{archive} ({archive.stat().st_size:,} bytes): {len(tables)} tables, {rows:,} rows.")
    print(f"{manifest}")


def verify(url, manifest_path):
    expected = json.loads(Path(manifest_path).read_text())["tables"]
    with connect(url) as conn:
        found = checksums(conn)
    problems = []
    for table in sorted(expected.keys() | found.keys()):
        want, have = expected.get(table), found.get(table)
        if have is None:
            problems.append(f"{table}: missing")
        elif want is None:
            problems.append(f"{table}: not in the backup")
        elif have != want:
            problems.append(
                f"{table}: {have['rows']:,} rows, checksum {have['sha256'][:12]}; "
                f"the backup has {want['rows']:,} rows, checksum {want['sha256'][:12]}"
            )
    if problems:
        print(f"{len(problems)} of {len(expected)} tables differ from the backup:", *problems,
              sep="\n  ", file=sys.stderr)  # fmt: skip
        sys.exit(1)
    rows = sum(table["rows"] for table in found.values())
    print(f"All {len(found)} tables match the backup ({rows:,} rows).")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        default=os.environ.get("DATABASE_URL"),
        help="postgres:// URL or libpq connection string (default: $DATABASE_URL)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dump", help="dump to DIR, with a manifest").add_argument("directory")
    commands.add_parser("verify", help="compare a database with a manifest").add_argument(
        "manifest"
    )
    args = parser.parse_args(argv)
    if not args.database:
        parser.error("set DATABASE_URL or pass --database")
    try:
        if args.command == "dump":
            dump(args.database, args.directory)
        else:
            verify(args.database, args.manifest)
    except subprocess.CalledProcessError as error:
        sys.exit(f"{Path(error.cmd[0]).name} failed (exit status {error.returncode}).")
    except psycopg.Error as error:
        sys.exit(f"Database error: {error}")


if __name__ == "__main__":
    main()
