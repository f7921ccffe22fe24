#!/usr/bin/env bash
# The data API benchmark, each comparison measured in the same run:
#   lookup   GET /api/v1/data/{code}/records/{key} (token check, grant, projection, masking,
#            durable group-committed access log) with wrk, against pgbench -M prepared
#            running the same SELECT on the same table, both at BENCH_CONNECTIONS (64)
#   floor    GET /healthz through the full middleware stack, against a bare axum
#            hello-world built in the same workspace (`datahall bench hello`)
#   audit    the same lookup on a second server started with the access log off
#            (--unaudited-benchmark), and the disk's single 8 kB fdatasync rate
#            (pg_test_fsync): what the durable, group-committed log costs; and on a third
#            server whose access log is journaled locally (access_journal_dir) and shipped
#            to the database in bulk, every record checked in the database afterwards
#   keyset   page 1,000 of `records` (limit 100, after= the sealed cursor) against page 1
#   sqlite   the same lookup on a SQLite copy of the entry, against Datasette's row
#            endpoint on the same file (PyPI datasette, installed when missing)
#   login    the lookup while 64 wrong-password logins run in parallel (each from another
#            address, so every one reaches argon2), against the lookup alone: the data
#            API's throughput under a guessing attack, and the logins' own p99
#
#   benches/sharing/run.sh [ROWS]        (default 1000000; needs a release build)
#
# BENCH_PARTS (lookup,floor,audit,keyset,sqlite,login) picks the comparisons to run; each keeps its
# baseline in the same run.
# BENCH_KEEP=1 keeps (and reuses) the generated PostgreSQL database between runs.
# Environment: BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/test), BENCH_SECONDS (15),
# BENCH_CONNECTIONS (64), DATAHALL_BIN (target/release/datahall). Installs wrk from
# Debian's packages when missing (needs root).
set -euo pipefail
rows=${1:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${BENCH_DIR:-/tmp/datahall-bench}
pg_admin=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
seconds=${BENCH_SECONDS:-15}
connections=${BENCH_CONNECTIONS:-64}
datahall=${DATAHALL_BIN:-$root/target/release/datahall}
parts=${BENCH_PARTS:-lookup,floor,audit,keyset,sqlite,login}
want() { [[ ",$parts," == *",$1,"* ]]; }
[[ -x $datahall ]] || { echo "run.sh: build first: cargo build --release" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
mkdir -p "$work"
export PGOPTIONS='-c client_min_messages=warning'
db_url=${pg_admin%/*}/datahall_api_bench
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [[ -n ${BENCH_KEEP:-} ]] || psql "$pg_admin" -X -q -c 'DROP DATABASE IF EXISTS datahall_api_bench' 2>/dev/null || true
}
trap cleanup EXIT

# BENCH_KEEP=1 keeps the generated database for the next run, which then reuses it.
if [[ -n ${BENCH_KEEP:-} && -f $work/api.env ]] && psql "$db_url" -X -q -c 'SELECT 1' >/dev/null 2>&1; then
    echo "# reusing the database of an earlier BENCH_KEEP run"
else
    psql "$pg_admin" -X -q -c 'DROP DATABASE IF EXISTS datahall_api_bench' -c 'CREATE DATABASE datahall_api_bench'
    DATAHALL_LOG=warn DATAHALL_BENCH_DATABASE=$db_url "$datahall" bench data-api --rows "$rows" --out "$work/api.env"
fi
# shellcheck disable=SC1091
source "$work/api.env"
psql "$db_url" -X -q -c 'VACUUM ANALYZE'
echo "# host cores=$(nproc) connections=$connections seconds=$seconds rows=$rows"

serve=127.0.0.1:18181
# The login part's attempts come "through a proxy" on 127.0.0.1, each naming another client.
DATAHALL_LOG=warn DATAHALL_SCHEDULER=false DATAHALL_TRUSTED_PROXIES=127.0.0.1 DATAHALL_SECRET_KEY_FILE="$work/datahall.key" "$datahall" serve --database "$db_url" --listen "$serve" 2>"$work/serve.log" &
pids+=($!)
DATAHALL_LOG=warn "$datahall" bench hello --listen 127.0.0.1:18182 2>/dev/null &
pids+=($!)
for _ in $(seq 60); do curl -fs "http://$serve/healthz" >/dev/null && curl -fs http://127.0.0.1:18182/ >/dev/null && break; sleep 0.5; done
curl -fs -H "Authorization: Bearer $token" "http://$serve/api/v1/data/$code/records/K000000000001" | sed 's/^/# sample answer: /'; echo

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# wrk_run NAME URL [ARGS…] — prints "bench NAME rps= p99_ms=" (after a 3-second warm-up).
wrk_run() {
    local name=$1; shift
    wrk -t2 -c"$connections" -d3s "$@" >/dev/null
    local out
    out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@")
    local rps p99
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } print v }' <<<"$out")
    local errors
    errors=$(awk '/Non-2xx/ { print $5 }' <<<"$out")
    echo "bench $name rps=$rps p99_ms=$p99 non_2xx=${errors:-0}"
}

wal_syncs() { psql "$db_url" -X -Atc "SELECT wal_sync FROM pg_stat_wal"; }
logged() { psql "$db_url" -X -Atc "SELECT COUNT(*) FROM access_log"; }
: > "$work/api.txt"
if want lookup || want audit; then
    syncs_before=$(wal_syncs) logged_before=$(logged)
    wrk_run api_lookup "http://$serve" -s "$here/lookup.lua" -- "$token" "$code" "$rows" | tee -a "$work/api.txt"
    syncs=$(($(wal_syncs) - syncs_before)) records=$(($(logged) - logged_before))
    echo "# access log during the lookup run (with its warm-up): $records records, $syncs WAL syncs: $(ratio "$records" "$syncs") records per fsync"
fi
# A guessing attack next to the data API: wrong-password logins at 64 connections for the
# whole of a lookup run at 64 connections; then the lookup alone, right after.
if want login; then
    wrk -t1 -c"$connections" -d"$((seconds + 6))s" --latency -s "$here/login.lua" "http://$serve" >"$work/login.out" &
    attack=$!
    sleep 3
    wrk_run lookup_under_logins "http://$serve" -s "$here/lookup.lua" -- "$token" "$code" "$rows" | tee -a "$work/api.txt"
    wait "$attack"
    login_p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } print v }' "$work/login.out")
    login_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$work/login.out")
    login_statuses=$(awk '/Non-2xx/ { print $5 }' "$work/login.out")
    echo "bench wrong_password_logins rps=$login_rps p99_ms=$login_p99 non_2xx=${login_statuses:-0}" | tee -a "$work/api.txt"
    wrk_run lookup_alone "http://$serve" -s "$here/lookup.lua" -- "$token" "$code" "$rows" | tee -a "$work/api.txt"
fi
if want lookup; then
    cat > "$work/lookup.sql" <<SQL
\\set n random(1, $rows)
SELECT record_no, id_number, full_name, region FROM $table WHERE record_no = 'K' || lpad(:n::text, 12, '0');
SQL
    tps=$(pgbench -n -M prepared -c "$connections" -j 2 -T "$seconds" -f "$work/lookup.sql" "$db_url" 2>/dev/null | awk '/^tps/ { print $3 }')
    echo "bench pgbench_lookup rps=$tps" | tee -a "$work/api.txt"
fi
if want floor; then
    wrk_run healthz "http://$serve/healthz" | tee -a "$work/api.txt"
    wrk_run bare_axum "http://127.0.0.1:18182/" | tee -a "$work/api.txt"
fi

# The audit's cost: the same lookup without the access log, and the disk's fsync rate.
if want audit; then
unaudited=127.0.0.1:18183
DATAHALL_LOG=warn DATAHALL_SCHEDULER=false DATAHALL_SECRET_KEY_FILE="$work/datahall.key" "$datahall" serve --database "$db_url" --listen "$unaudited" --unaudited-benchmark 2>"$work/serve-unaudited.log" &
pids+=($!)
for _ in $(seq 60); do curl -fs "http://$unaudited/healthz" >/dev/null && break; sleep 0.5; done
wrk_run api_lookup_unaudited "http://$unaudited" -s "$here/lookup.lua" -- "$token" "$code" "$rows" | tee -a "$work/api.txt"
kill "${pids[-1]}" 2>/dev/null || true
journaled=127.0.0.1:18186
rm -rf "$work/journal"
logged_before=$(logged)
DATAHALL_LOG=warn DATAHALL_SCHEDULER=false DATAHALL_ACCESS_JOURNAL_DIR="$work/journal" DATAHALL_SECRET_KEY_FILE="$work/datahall.key" "$datahall" serve --database "$db_url" --listen "$journaled" 2>"$work/serve-journaled.log" &
pids+=($!)
for _ in $(seq 60); do curl -fs "http://$journaled/healthz" >/dev/null && break; sleep 0.5; done
wrk_run api_lookup_journaled "http://$journaled" -s "$here/lookup.lua" -- "$token" "$code" "$rows" | tee -a "$work/api.txt"
# A clean stop ships what the journal still holds; every answered call has its row.
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
echo "# journaled access log: $(($(logged) - logged_before)) records in the database after the run, $(ls "$work/journal" | grep -c '\.seg$' || true) segments left"
pg_test_fsync=$(ls /usr/lib/postgresql/*/bin/pg_test_fsync | tail -n1)
fsync=$("$pg_test_fsync" -s 2 -f "$work/fsync.test" 2>/dev/null | awk '/one 8kB write/ { on = 1 } on && $1 == "fdatasync" && !done { print $2; done = 1 }')
rm -f "$work/fsync.test"
echo "bench fsync_single_8k rps=$fsync" | tee -a "$work/api.txt"
fi

# Keyset paging: walk to page 1,000 once, then time page 1 and page 1,000.
if want keyset; then
cursor=""
for _ in $(seq 999); do
    cursor=$(curl -fs -H "Authorization: Bearer $token" "http://$serve/api/v1/data/$code/records?limit=100${cursor:+&after=$cursor}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["next"])')
done
wrk_run page_1 "http://$serve/api/v1/data/$code/records?limit=100" -H "Authorization: Bearer $token" | tee -a "$work/api.txt"
wrk_run page_1000 "http://$serve/api/v1/data/$code/records?limit=100&after=$cursor" -H "Authorization: Bearer $token" | tee -a "$work/api.txt"
fi

# SQLite: the same entry in a SQLite file, served by datahall and by Datasette.
if want sqlite; then
python3 -c 'import datasette' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check datasette
rm -f "$work/api_bench.db"*
DATAHALL_LOG=warn DATAHALL_BENCH_DATABASE="sqlite://$work/api_bench.db" "$datahall" bench data-api --rows "$rows" --out "$work/api-sqlite.env"
sqlite_token=$(sed -n 's/^token=//p' "$work/api-sqlite.env")
sqlite_code=$(sed -n 's/^code=//p' "$work/api-sqlite.env")
sqlite_table=$(sed -n 's/^table=//p' "$work/api-sqlite.env")
sqlite_serve=127.0.0.1:18185
DATAHALL_LOG=warn DATAHALL_SCHEDULER=false DATAHALL_SECRET_KEY_FILE="$work/datahall.key" "$datahall" serve --database "sqlite://$work/api_bench.db" --listen "$sqlite_serve" 2>"$work/serve-sqlite.log" &
pids+=($!)
datasette serve -i "$work/api_bench.db" -h 127.0.0.1 -p 18184 >"$work/datasette.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do curl -fs "http://$sqlite_serve/healthz" >/dev/null && curl -fs "http://127.0.0.1:18184/-/versions.json" >/dev/null && break; sleep 0.5; done
curl -fs "http://127.0.0.1:18184/api_bench/$sqlite_table/K000000000001.json?_shape=objects" | head -c 300 | sed 's/^/# datasette sample: /'; echo
wrk_run sqlite_lookup "http://$sqlite_serve" -s "$here/lookup.lua" -- "$sqlite_token" "$sqlite_code" "$rows" | tee -a "$work/api.txt"
wrk_run datasette_row "http://127.0.0.1:18184" -s "$here/datasette.lua" -- "$sqlite_table" "$rows" | tee -a "$work/api.txt"
fi

rate() { awk -v n="$1" '$2 == n { for (i = 3; i <= NF; i++) if ($i ~ /^rps=/) { sub(/rps=/, "", $i); print $i } }' "$work/api.txt"; }
echo "# ratios (same run)"
echo "ratio api_lookup/pgbench_lookup=$(ratio "$(rate api_lookup)" "$(rate pgbench_lookup)") (target ≥ 0.4)"
echo "ratio healthz/bare_axum=$(ratio "$(rate healthz)" "$(rate bare_axum)") (target ≥ 0.6)"
echo "ratio audited/unaudited=$(ratio "$(rate api_lookup)" "$(rate api_lookup_unaudited)") (target ≥ 0.8)"
echo "ratio journaled/unaudited=$(ratio "$(rate api_lookup_journaled)" "$(rate api_lookup_unaudited)") (target ≥ 0.8)"
echo "ratio journaled/pgbench_lookup=$(ratio "$(rate api_lookup_journaled)" "$(rate pgbench_lookup)") (target ≥ 0.4)"
echo "ratio audited/fsync_single_8k=$(ratio "$(rate api_lookup)" "$(rate fsync_single_8k)") (target ≥ 10)"
echo "ratio page_1/page_1000=$(ratio "$(rate page_1)" "$(rate page_1000)") (page 1,000 no slower than 1.5× page 1: target ≤ 1.5)"
echo "ratio sqlite_lookup/datasette_row=$(ratio "$(rate sqlite_lookup)" "$(rate datasette_row)") (target ≥ 5)"
echo "ratio lookup_under_logins/lookup_alone=$(ratio "$(rate lookup_under_logins)" "$(rate lookup_alone)") (64 wrong-password logins in parallel; their p99 above)"
