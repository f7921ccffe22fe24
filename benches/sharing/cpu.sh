#!/usr/bin/env bash
# Where the CPU of a data API lookup goes: runs the lookup (benches/sharing/lookup.lua) for
# 10 s against a server whose access log is MODE, and prints the CPU seconds the server,
# PostgreSQL and wrk used, and the machine's idle time. Per call, this is what bounds the
# audited/unaudited ratio on a machine where all three share the cores.
#
#   benches/sharing/cpu.sh MODE        MODE: unaudited | database | journaled | floor
#
# `floor` measures instead what storing one access record costs the database at best: 200,000
# records inserted in one statement into copies of access_log and access_subjects with their
# indexes (time-ordered request ids, as the server makes them; no server, no load), in
# microseconds per record.
#
# Needs the data of an earlier `BENCH_KEEP=1 benches/sharing/run.sh` (its api.env) and a
# release build (DATAHALL_BIN, default target/release/datahall).
set -euo pipefail
mode=${1:?unaudited, database, journaled or floor}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${BENCH_DIR:-/tmp/datahall-bench}
pg_admin=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
datahall=${DATAHALL_BIN:-$root/target/release/datahall}
db_url=${pg_admin%/*}/datahall_api_bench
# shellcheck disable=SC1091
source "$work/api.env"
if [[ $mode == floor ]]; then
    PGOPTIONS="-c client_min_messages=warning" psql "$db_url" -X -q -v ON_ERROR_STOP=1 <<'SQL' | awk '/^Time:/ { ms += $2 } END { printf "cpu floor postgres_us_per_record=%.1f (insert of 200000 records with their subjects, one statement each)\n", ms * 1000 / 200000 }'
DROP TABLE IF EXISTS floor_log, floor_subjects, floor_source;
-- Logged tables like the real ones (temporary tables write no WAL).
CREATE TABLE floor_log (LIKE access_log INCLUDING ALL);
CREATE TABLE floor_subjects (LIKE access_subjects INCLUDING ALL);
CREATE TEMP TABLE floor_source AS
    SELECT now() AS at, 1::bigint AS token_id, 2::bigint AS department_id, 'app'::text AS application,
           3::bigint AS resource_id, 'record'::text AS endpoint, 'record_no,id_number,full_name,region'::text AS items,
           ''::text AS filter_shape, 1::bigint AS row_count, 'ok'::text AS outcome, 200 AS status, 350::bigint AS latency_us,
           lpad(g::text, 36, '0') AS request_id, md5(g::text) || md5((g + 1)::text) AS seal,
           42::bigint AS journal, g::bigint AS journal_seq, md5((-g)::text) || md5(g::text) AS subject
    FROM generate_series(1, 200000) g;
\timing on
INSERT INTO floor_log (at, token_id, department_id, application, resource_id, endpoint, items, filter_shape,
    row_count, outcome, status, latency_us, request_id, seal, journal, journal_seq)
    SELECT at, token_id, department_id, application, resource_id, endpoint, items, filter_shape, row_count,
           outcome, status, latency_us, request_id, seal, journal, journal_seq FROM floor_source;
INSERT INTO floor_subjects (request_id, subject) SELECT request_id, subject FROM floor_source;
\timing off
DROP TABLE floor_log, floor_subjects;
SQL
    exit 0
fi
flags=() settings=()
case $mode in
    unaudited) flags=(--unaudited-benchmark) ;;
    journaled) rm -rf "$work/cpu-journal"; settings=(DATAHALL_ACCESS_JOURNAL_DIR="$work/cpu-journal") ;;
    database) ;;
    *) echo "cpu.sh: unknown mode $mode" >&2; exit 2 ;;
esac
listen=127.0.0.1:18190
env DATAHALL_LOG=warn DATAHALL_SCHEDULER=false DATAHALL_SECRET_KEY_FILE="$work/datahall.key" "${settings[@]}" \
    "$datahall" serve --database "$db_url" --listen "$listen" "${flags[@]}" 2>"$work/cpu-serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fs "http://$listen/healthz" >/dev/null && break; sleep 0.5; done
lookup() { wrk -t2 -c64 -d"$1" -s "$here/lookup.lua" "http://$listen" -- "$token" "$code" "$rows"; }
lookup 3s >/dev/null
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
postgres_ticks() { local sum=0 pid; for pid in $(pgrep -x postgres); do sum=$((sum + $(ticks "$pid"))); done; echo "$sum"; }
idle_ticks() { awk '/^cpu / { print $5 + $6 }' /proc/stat; }
hz=$(getconf CLK_TCK)
server0=$(ticks $server) postgres0=$(postgres_ticks) idle0=$(idle_ticks)
wrk -t2 -c64 -d10s -s "$here/lookup.lua" "http://$listen" -- "$token" "$code" "$rows" >"$work/cpu-wrk.txt" &
client=$!
sleep 0.5; client0=$(ticks $client)
sleep 9; client1=$(ticks $client)
wait $client
server1=$(ticks $server) postgres1=$(postgres_ticks) idle1=$(idle_ticks)
rps=$(awk '/^Requests\/sec:/ { print $2 }' "$work/cpu-wrk.txt")
awk -v mode="$mode" -v rps="$rps" -v hz="$hz" -v s=$((server1 - server0)) -v p=$((postgres1 - postgres0)) \
    -v w=$((client1 - client0)) -v i=$((idle1 - idle0)) 'BEGIN {
    calls = rps * 10
    printf "cpu %s rps=%s server_us_per_call=%.1f postgres_us_per_call=%.1f wrk_us_per_call=%.1f idle_s=%.2f\n",
        mode, rps, s / hz / calls * 1e6, p / hz / calls * 1e6, w / hz / (rps * 9) * 1e6, i / hz }'
