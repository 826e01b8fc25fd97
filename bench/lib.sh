# What bench/run and bench/soak share, sourced by both: tools, a throwaway PostgreSQL cluster
# removed on exit whatever happens, the production settings, seeding, gunicorn's lifecycle.
#
# The caller sets RESULTS (where logs go) and PGPORT before sourcing, and may define
# before_cleanup (run first on exit, e.g. to stop its own background jobs).

PY=.venv/bin/python
MANAGE=("$PY" manage.py)

log() { printf '== %s\n' "$*"; }
die() { printf '%s: %s\n' "$0" "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
pg_bin() { printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

# -- tools --------------------------------------------------------------------------------

missing=()
command -v wrk >/dev/null || missing+=(wrk)
[ -x "$(pg_bin)/initdb" ] || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  log "Installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PGBIN=$(pg_bin)
[ -x "$PGBIN/initdb" ] || die "PostgreSQL server binaries not found after install"
command -v wrk >/dev/null || die "wrk not found after install"

# -- cleanup, whatever happens ------------------------------------------------------------

# PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
RUN_PG=()
[ "$(id -u)" -eq 0 ] && RUN_PG=(runuser -u postgres --)
WORK=$(mktemp -d /tmp/catalogue-bench.XXXXXX)
chmod 755 "$WORK"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$WORK"
GUNICORN_PID=
PG_LOG_COPY=${PG_LOG_COPY:-$RESULTS/postgresql.log}

stop_gunicorn() {
  if [ -n "$GUNICORN_PID" ]; then
    kill -TERM "$GUNICORN_PID" 2>/dev/null || true
    wait "$GUNICORN_PID" 2>/dev/null || true
    GUNICORN_PID=
  fi
}
cleanup() {
  declare -F before_cleanup >/dev/null && before_cleanup
  stop_gunicorn
  "${RUN_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true
  cp "$WORK/postgresql.log" "$PG_LOG_COPY" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- database -----------------------------------------------------------------------------

PG_OPTIONS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
psql() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"; }

# start_cluster DBNAME: a fresh cluster on 127.0.0.1:$PGPORT with one empty database, and the
# production settings pointing at it, exported so that every command after inherits them.
start_cluster() {
  local dbname=$1
  log "Starting a throwaway PostgreSQL cluster on 127.0.0.1:$PGPORT ($PG_OPTIONS)"
  "${RUN_PG[@]}" "$PGBIN/initdb" -D "$WORK/data" -U postgres -A trust --encoding=UTF8 \
    --locale=C.UTF-8 >/dev/null
  "${RUN_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgresql.log" -w \
    -o "-h 127.0.0.1 -p $PGPORT -k $WORK $PG_OPTIONS" start >/dev/null
  psql -d postgres -c "CREATE DATABASE $dbname"
  DBNAME=$dbname
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/$dbname"
  export DJANGO_DEBUG=0 DJANGO_SECRET_KEY=bench-only DJANGO_ALLOWED_HOSTS=127.0.0.1
  export DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_BENCHMARK=1
  # One machine sends all the load: the per-client rates and the cap on exports at once would
  # refuse it (catalogue/limits.py). The soak's hostile phase puts them back.
  export DJANGO_RATE_PAGES=off DJANGO_RATE_API=off DJANGO_RATE_EXPORTS=off
  export DJANGO_MAX_CONCURRENT_EXPORTS=64
}

setup_catalogue() {
  log "Migrating, loading the seed catalogue, collecting static files"
  "${MANAGE[@]}" migrate --no-input -v 0
  "${MANAGE[@]}" seed_catalogue
  "${MANAGE[@]}" collectstatic --no-input -v 0
}

published() {
  psql -d "$DBNAME" -c "SELECT count(*) FROM catalogue_initiative WHERE status = 'published'"
}

# grow_catalogue SIZE: top the catalogue up to SIZE published initiatives, then VACUUM ANALYZE.
grow_catalogue() {
  local size=$1 have
  have=$(published)
  if [ "$have" -lt "$size" ]; then
    "${MANAGE[@]}" help seed_synthetic >/dev/null 2>&1 ||
      die "manage.py has no seed_synthetic command, which growing the catalogue needs"
    log "Adding $((size - have)) synthetic initiatives ($have published -> $size)"
    # A seed per size: deterministic, and the 90,000 added for 100k are not the first 10k again.
    "${MANAGE[@]}" seed_synthetic --count "$((size - have))" --seed "$size"
  fi
  have=$(published)
  [ "$have" -eq "$size" ] || log "Note: the catalogue holds $have published initiatives, not $size"
  log "VACUUM ANALYZE"
  psql -d "$DBNAME" -c "VACUUM ANALYZE"
}

# -- what the report says about the run ---------------------------------------------------

# META names the file; one "name <TAB> value" line each.
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }
commit_meta() {
  echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
}
machine_meta() {
  echo "$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), $(free -g | awk '/^Mem:/ {print $2}') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run (anything else running skews the numbers)"
}
database_meta() {
  echo "PostgreSQL $(psql -d postgres -c 'SHOW server_version' | cut -d' ' -f1) on loopback, defaults except fsync=off, synchronous_commit=off, full_page_writes=off (durability off: speeds up seeding)"
}

# wait_for_server URL LOG: until URL answers 2xx, or gunicorn has exited, or 20 s have passed.
wait_for_server() {
  local url=$1 logfile=$2
  for _ in $(seq 100); do
    curl -fso /dev/null "$url" && return 0
    kill -0 "$GUNICORN_PID" 2>/dev/null || die "gunicorn exited; see $logfile"
    sleep 0.2
  done
  die "gunicorn did not answer on $url within 20 s"
}
