#!/usr/bin/env bash
# The catalogue at scale: seed a throwaway PostgreSQL cluster in steps (100k, 300k, 1M
# published initiatives by default) and, at each size, record the seeding time, the database
# and index sizes, the cold path of the public pages (cache cleared before each request,
# bench/scale_cold.py), the queries behind the slowest pages with EXPLAIN (ANALYZE, BUFFERS)
# (bench/scale_explain.py) and the export rate (bench/export.py on a filtered list).
# Everything runs under `nice -n 19`, PostgreSQL included, to leave a shared machine alone.
#
#   bench/scale.sh                 # everything: start, each size, stop and delete the cluster
#   bench/scale.sh start           # or step by step: start the cluster, migrate, seed_catalogue
#   bench/scale.sh grow 300000     # top up to this many published initiatives, VACUUM ANALYZE
#   bench/scale.sh measure         # sizes, cold paths, EXPLAINs, export at the current size
#   bench/scale.sh stop            # stop the cluster and delete its data
#
# The 2026-11-25 figures: start; grow 100000, measure; grow 300000, measure; grow 1000000,
# SCALE_RUNS=2 SCALE_PARTS="sizes cold explain export" measure, then SCALE_SLOW_TIMEOUT=120
# SCALE_PARTS=slow measure; stop. About 25 minutes of seeding on 2 cores; the sitemap index
# alone takes minutes from about 300,000 initiatives, hence its own part and time-out.
#
# Settings (environment):
#   SCALE_SIZES         sizes for the full run              [100000 300000 1000000]
#   SCALE_PGPORT        port of the throwaway cluster       [55460]
#   SCALE_DIR           its data, socket and log            [/tmp/scale-pg]
#   SCALE_OUT           where the results go                [bench/results/scale]
#   SCALE_RUNS          cold requests per URL               [3]
#   SCALE_RARE_WORD     a search word matching few records  [redmere]
#   SCALE_EXPORT_QUERY  the exported list's query string    [theme=skills]
#   SCALE_FULL_EXPORT   1: also time one full CSV export    [0]
#   SCALE_PARTS         what `measure` does                 [sizes cold slow explain export]
#   SCALE_SLOW_TIMEOUT  statement_timeout, in seconds, of the "slow" part's single requests
#                       (the sitemap index and the organisations' sitemap)      [300]
#
# The cluster runs with fsync=off, synchronous_commit=off, full_page_writes=off and
# max_wal_size=4GB (seeding speed only; the measured pages only read), otherwise PostgreSQL's
# defaults (shared_buffers 128 MB, work_mem 4 MB).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${SCALE_PGPORT:-55460}
DIR=${SCALE_DIR:-/tmp/scale-pg}
OUT=${SCALE_OUT:-bench/results/scale}
RARE_WORD=${SCALE_RARE_WORD:-redmere}
EXPORT_QUERY=${SCALE_EXPORT_QUERY:-theme=skills}
LIST_QUERY="theme=data-analytics&theme=cloud&driver=technology"
PGBIN=/usr/lib/postgresql/15/bin
PY=.venv/bin/python
NICE=(nice -n 19)
RUN_PG=()
[ "$(id -u)" -eq 0 ] && RUN_PG=(runuser -u postgres --)

export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/scale"
export DJANGO_DEBUG=0 DJANGO_SECRET_KEY=bench-only DJANGO_ALLOWED_HOSTS=testserver,bench.example
export DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_LOG_LEVEL=WARNING DJANGO_CONN_MAX_AGE=3600
export DJANGO_SETTINGS_MODULE=catalogue.settings PYTHONPATH=. DJANGO_STATIC_ROOT="$DIR/static"

log() { printf '== %s  (load average %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d scale "$@"; }
published() { psql -At -c "SELECT count(*) FROM catalogue_initiative WHERE status = 'published'"; }

start() {
  mkdir -p "$DIR" "$OUT"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR"
  "${RUN_PG[@]}" "${NICE[@]}" "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  "${RUN_PG[@]}" "${NICE[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgresql.log" -w -o \
    "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=4GB" \
    start >/dev/null
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE scale"
  log "Migrating and loading the seed catalogue"
  "${NICE[@]}" "$PY" manage.py migrate --no-input -v 0
  "${NICE[@]}" "$PY" manage.py seed_catalogue
  "${NICE[@]}" "$PY" manage.py collectstatic --no-input -v 0
}

stop() {
  "${RUN_PG[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}

grow() {
  local size=$1 have started
  have=$(published)
  if [ "$have" -lt "$size" ]; then
    log "Seeding $((size - have)) initiatives ($have -> $size)"
    started=$SECONDS
    "${NICE[@]}" "$PY" manage.py seed_synthetic --count "$((size - have))" --seed "$size"
    printf '%s\tseed\t%s s\t%s -> %s\n' "$size" "$((SECONDS - started))" "$have" "$size" \
      >>"$OUT/timings.tsv"
  fi
  log "VACUUM ANALYZE"
  started=$SECONDS
  psql -c "VACUUM ANALYZE"
  printf '%s\tvacuum analyze\t%s s\n' "$size" "$((SECONDS - started))" >>"$OUT/timings.tsv"
}

sizes() {
  psql -c "SELECT pg_size_pretty(pg_database_size('scale')) AS database,
                  (SELECT count(*) FROM catalogue_initiative WHERE status = 'published') AS published,
                  (SELECT count(*) FROM catalogue_organisation) AS organisations"
  psql -c "SELECT c.relname AS name, CASE c.relkind WHEN 'r' THEN 'table' ELSE 'index' END AS kind,
                  pg_size_pretty(pg_relation_size(c.oid)) AS main,
                  CASE WHEN c.relkind = 'r' THEN pg_size_pretty(pg_total_relation_size(c.oid)) END
                    AS with_toast_and_indexes
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')
            ORDER BY pg_relation_size(c.oid) DESC LIMIT 20"
  psql -c "SELECT c.relname AS toast_of, pg_size_pretty(pg_relation_size(c.reltoastrelid)) AS toast
             FROM pg_class c WHERE c.relname = 'catalogue_initiative'"
}

measure() {
  local size slug pages word_hits
  size=$(published)
  mkdir -p "$OUT"
  local parts=" ${SCALE_PARTS:-sizes cold slow explain export} "
  log "Measuring at $size published initiatives:$parts"
  [[ $parts == *" sizes "* ]] && sizes | tee "$OUT/sizes-$size.txt"
  slug=$(psql -At -c "SELECT slug FROM catalogue_initiative WHERE status = 'published'
                      ORDER BY id DESC LIMIT 1")
  pages=$(((size + 19) / 20))
  word_hits=$(psql -At -c "SELECT count(*) FROM catalogue_initiative WHERE status = 'published'
                           AND search_vector @@ websearch_to_tsquery('english', '$RARE_WORD')")
  echo "rare word '$RARE_WORD' matches $word_hits; $pages list pages" | tee "$OUT/urls-$size.txt"
  # The organisations leading, and taking part in, the most initiatives: their pages list all.
  local lead partner
  lead=$(psql -At -c "SELECT o.slug FROM catalogue_organisation o JOIN catalogue_initiative i
                      ON i.lead_organisation_id = o.id GROUP BY o.slug ORDER BY count(*) DESC LIMIT 1")
  partner=$(psql -At -c "SELECT o.slug FROM catalogue_organisation o JOIN catalogue_partnership p
                         ON p.organisation_id = o.id GROUP BY o.slug ORDER BY count(*) DESC LIMIT 1")
  psql -c "SELECT o.slug, (SELECT count(*) FROM catalogue_initiative WHERE lead_organisation_id = o.id) AS led,
                  (SELECT count(*) FROM catalogue_partnership WHERE organisation_id = o.id) AS partnerships
             FROM catalogue_organisation o WHERE o.slug IN ('$lead', '$partner')" | tee -a "$OUT/urls-$size.txt"
  local urls=(
    "/"
    "/initiatives/"
    "/initiatives/?$LIST_QUERY"
    "/initiatives/?$LIST_QUERY&q=housing"
    "/initiatives/?q=$RARE_WORD"
    "/initiatives/?page=$((pages - 1))"
    "/initiatives/$slug/"
    "/organisations/$lead/"
    "/organisations/$partner/"
    "/insights/"
    "/api/v1/initiatives/?theme=data-analytics"
    "/sitemap-initiatives.xml?p=1"
    "/sitemap-initiatives.xml?p=$(((size + 9999) / 10000))"
    "/feeds/initiatives.atom"
  )
  # Their public-organisations query grows with organisations x initiatives (see the report).
  local slow_urls=("/sitemap.xml" "/sitemap-organisations.xml")
  printf '%s\n' "${urls[@]}" "${slow_urls[@]}" >>"$OUT/urls-$size.txt"
  if [[ $parts == *" cold "* ]]; then
    log "Cold paths"
    "${NICE[@]}" "$PY" bench/scale_cold.py "${urls[@]}" | tee "$OUT/cold-$size.tsv"
  fi
  if [[ $parts == *" slow "* ]]; then
    log "Slow pages, one request each, statement_timeout ${SCALE_SLOW_TIMEOUT:-300} s"
    PGOPTIONS="-c statement_timeout=${SCALE_SLOW_TIMEOUT:-300}s" SCALE_ONCE=1 \
      "${NICE[@]}" "$PY" bench/scale_cold.py "${slow_urls[@]}" | tee "$OUT/slow-$size.tsv"
  fi
  if [[ $parts == *" explain "* ]]; then
    log "Slowest queries, with EXPLAIN (ANALYZE, BUFFERS)"
    "${NICE[@]}" "$PY" bench/scale_explain.py "${urls[@]}" >"$OUT/explain-$size.txt"
    grep '^===' "$OUT/explain-$size.txt"
  fi
  if [[ $parts == *" export "* ]]; then
    log "Export of $EXPORT_QUERY"
    BENCH_REPEATS=1 "${NICE[@]}" "$PY" bench/export.py "$EXPORT_QUERY" 2>/dev/null |
      tee "$OUT/export-$size.md"
  fi
  if [ "${SCALE_FULL_EXPORT:-0}" = 1 ]; then
    log "Full CSV export"
    "${NICE[@]}" "$PY" bench/export.py --measure csv "" | tee "$OUT/export-full-$size.json"
  fi
  log "Done at $size"
}

case "${1:-all}" in
  start) start ;;
  grow) grow "$2" ;;
  measure) measure ;;
  stop) stop ;;
  all)
    trap stop EXIT
    start
    for size in ${SCALE_SIZES:-100000 300000 1000000}; do
      grow "$size"
      measure
    done
    ;;
  *) echo "usage: bench/scale.sh [all | start | grow SIZE | measure | stop]" >&2; exit 2 ;;
esac
