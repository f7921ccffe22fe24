#!/usr/bin/env bash
# The collection benchmark: the stock tools' baselines (baselines.sh) and datahall on the
# same CSV and the same MariaDB table, in one run, with the ratios the issue asks for.
#
#   benches/collection/run.sh [ROWS]          (default 1000000; needs a release build)
#
# datahall runs `datahall bench collect`: CSV import through the upload path (checks,
# quarantine, staging, one publishing transaction) into a fresh SQLite file (WAL,
# synchronous=FULL) and a fresh PostgreSQL database (fsync on, synchronous_commit on),
# then a full pull of the MariaDB table and an incremental pull after 1 % updates.
set -euo pipefail

rows=${1:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${BENCH_DIR:-/tmp/datahall-bench}
pg_admin=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
mysql_url=${BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}
datahall=${DATAHALL_BIN:-$root/target/release/datahall}
[[ -x $datahall ]] || { echo "run.sh: build first: cargo build --release" >&2; exit 1; }
mkdir -p "$work"

BENCH_KEEP=1 "$here/baselines.sh" "$rows" | tee "$work/results.txt"
csv=$(ls -t "$work"/people-"$rows"-*.csv | head -1)

rm -rf "$work"/dh.db*
DATAHALL_LOG=warn DATAHALL_BENCH_DATABASE="sqlite://$work/dh.db" \
    "$datahall" bench collect --csv "$csv" --mysql-url "$mysql_url" | tee -a "$work/results.txt"

pg_bench=${pg_admin%/*}/datahall_bench
psql "$pg_admin" -X -q -c 'DROP DATABASE IF EXISTS datahall_bench' -c 'CREATE DATABASE datahall_bench' -c CHECKPOINT
DATAHALL_LOG=warn DATAHALL_BENCH_DATABASE="$pg_bench" \
    "$datahall" bench collect --csv "$csv" --mysql-url "$mysql_url" | tee -a "$work/results.txt"
psql "$pg_admin" -X -q -c 'DROP DATABASE IF EXISTS datahall_bench'
mariadb -h 127.0.0.1 -u root test -e 'DROP TABLE IF EXISTS bench_people'

rate() { awk -v name="$1" '$2 == name { for (i = 3; i <= NF; i++) if ($i ~ /^rows_per_s=/) { sub(/rows_per_s=/, "", $i); print $i } }' "$work/results.txt"; }
seconds() { awk -v name="$1" '$2 == name { for (i = 3; i <= NF; i++) if ($i ~ /^seconds=/) { sub(/seconds=/, "", $i); print $i } }' "$work/results.txt"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "# ratios (datahall ÷ baseline, same run)"
echo "ratio import_postgres/psql_copy=$(ratio "$(rate import_postgres)" "$(rate psql_copy)") (target ≥ 0.5)"
echo "ratio import_sqlite/sqlite_import=$(ratio "$(rate import_sqlite)" "$(rate sqlite_import)") (target ≥ 0.7)"
echo "ratio pull_full_postgres/pgloader=$(ratio "$(rate pull_full_postgres)" "$(rate pgloader)") (target ≥ 1; an entry already full: every row upserted and reconciled)"
echo "ratio pull_full_empty_postgres/pgloader=$(ratio "$(rate pull_full_empty_postgres)" "$(rate pgloader)") (pgloader's own case: an empty target)"
echo "ratio pull_incremental_postgres_seconds/incremental_upsert_seconds=$(ratio "$(seconds pull_incremental_postgres)" "$(seconds incremental_upsert)")"
