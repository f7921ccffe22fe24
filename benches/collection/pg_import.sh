#!/usr/bin/env bash
# The PostgreSQL import pair alone, for quick repeats: `psql \copy` of the CSV into an
# all-text table (as in baselines.sh), then `datahall bench collect` into a fresh database.
#
#   benches/collection/pg_import.sh CSV        (a file made by gen_rows.py; release build)
set -euo pipefail
csv=${1:?usage: pg_import.sh CSV}
root=$(cd "$(dirname "$0")/../.." && pwd)
datahall=${DATAHALL_BIN:-$root/target/release/datahall}
pg_admin=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
export LC_NUMERIC=C PGCLIENTENCODING=UTF8 PGOPTIONS='-c client_min_messages=warning'
pg() { psql "$pg_admin" -X -q "$@"; }
rows=$(($(wc -l <"$csv") - 1))
pg -c 'DROP TABLE IF EXISTS bench_people_copy' -c 'CREATE TABLE bench_people_copy (sfzh text PRIMARY KEY, xm text, xb text, csrq text, mz text, hjdz text, xzqh text, sjhm text, dwtyxydm text, ysr text, jtrk text, sg text, sfcb text, djsj text, bz text)'
pg -c CHECKPOINT
start=$EPOCHREALTIME
pg -c "\\copy bench_people_copy FROM '$csv' WITH (FORMAT csv, HEADER true)"
end=$EPOCHREALTIME
awk -v s="$start" -v e="$end" -v r="$rows" 'BEGIN { printf "baseline psql_copy rows=%d seconds=%.2f rows_per_s=%.0f\n", r, e - s, r / (e - s) }'
pg -c 'DROP TABLE bench_people_copy' -c 'DROP DATABASE IF EXISTS datahall_bench' -c 'CREATE DATABASE datahall_bench' -c CHECKPOINT
DATAHALL_LOG=warn DATAHALL_BENCH_DATABASE=${pg_admin%/*}/datahall_bench "$datahall" bench collect --csv "$csv"
pg -c 'DROP DATABASE IF EXISTS datahall_bench'
