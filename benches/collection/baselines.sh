#!/usr/bin/env bash
# Baselines for bulk data collection: how fast the stock tools move the same resident CSV,
# so datahall's importer can be judged against them on the same machine.
#
#   benches/collection/baselines.sh [ROWS]        (default 1000000)
#
# Measures, each on fresh tables, with the servers' default durability:
#   psql_copy          psql \copy of the CSV into PostgreSQL (all columns text, SFZH the PK)
#   sqlite_import      sqlite3 .import into a new SQLite file (WAL, synchronous=FULL)
#   mariadb_load_data  LOAD DATA LOCAL INFILE into MariaDB (setup of the next two; typed)
#   pgloader           full move MariaDB → PostgreSQL (schema, data, indexes)
#   incremental_upsert 1 % of MariaDB rows changed, then SELECT … WHERE updated_at > watermark
#                      | psql \copy into a temp table | INSERT … ON CONFLICT DO UPDATE
# Result lines start with "baseline " and are `key=value` pairs; everything else starts
# with "#". A wrapper can `grep '^baseline '` and compute ratios.
#
# Environment:
#   BENCH_DIR      work directory; the CSV is kept there for reuse (/tmp/datahall-bench)
#   BENCH_SEED     generator seed (42)          BENCH_BAD_PERCENT  bad rows, % (1)
#   BENCH_PG_URL   postgres://postgres@127.0.0.1:5432/test
#   BENCH_MY_HOST, BENCH_MY_PORT, BENCH_MY_USER, BENCH_MY_DB, BENCH_MY_PASSWORD
#                  MariaDB (127.0.0.1, 3306, root, test, empty)
#   BENCH_KEEP     set to leave the MariaDB and pgloader tables in place for inspection
#
# Needs root only if pgloader is missing (installed from Debian's packages).
# Why text columns for psql_copy and SQLite: the file has ~1 % bad rows (impossible dates,
# "三" as a family size), and with typed columns COPY would abort the whole load on the
# first one. The baseline is "bytes into the database"; validation is what datahall adds.
set -euo pipefail

rows=${1:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
work=${BENCH_DIR:-/tmp/datahall-bench}
seed=${BENCH_SEED:-42}
bad=${BENCH_BAD_PERCENT:-1}
pg_url=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
my_host=${BENCH_MY_HOST:-127.0.0.1}
my_port=${BENCH_MY_PORT:-3306}
my_user=${BENCH_MY_USER:-root}
my_db=${BENCH_MY_DB:-test}
# EPOCHREALTIME follows LC_NUMERIC; the arithmetic below needs a decimal point.
export LC_NUMERIC=C
# psql would otherwise pick its encoding from the locale (SQL_ASCII under C).
export PGCLIENTENCODING=UTF8
export PGOPTIONS='-c client_min_messages=warning'
if [[ -n ${BENCH_MY_PASSWORD:-} ]]; then export MYSQL_PWD=$BENCH_MY_PASSWORD; fi
export BENCH_MY_HOST=$my_host BENCH_MY_PORT=$my_port BENCH_MY_USER=$my_user BENCH_MY_DB=$my_db

pg() { psql "$pg_url" -X -v ON_ERROR_STOP=1 "$@"; }
my() { mariadb -h "$my_host" -P "$my_port" -u "$my_user" "$my_db" "$@"; }

# report NAME ROWS START END — the one output format every measurement shares.
report() {
    awk -v n="$1" -v r="$2" -v s="$3" -v e="$4" \
        'BEGIN { printf "baseline %s rows=%d seconds=%.2f rows_per_s=%.0f\n", n, r, e - s, r / (e - s) }'
}

cleanup() {
    [[ -n ${BENCH_KEEP:-} ]] && return
    set +e
    pg -q -c 'DROP TABLE IF EXISTS bench_people_copy, bench_people_pgloader' 2>/dev/null
    my -e 'DROP TABLE IF EXISTS bench_people' 2>/dev/null
    rm -f "$work"/bench.sqlite "$work"/bench.sqlite-wal "$work"/bench.sqlite-shm
}
trap cleanup EXIT

mkdir -p "$work"
sqlite_version=$(sqlite3 --version | cut -d' ' -f1)
# `.import --skip 1` into an existing table (so that SFZH can be the primary key) arrived in 3.32.
if [[ $(printf '%s\n' 3.32.0 "$sqlite_version" | sort -V | head -1) != 3.32.0 ]]; then
    echo "baselines.sh: sqlite3 $sqlite_version is older than 3.32 (.import --skip)" >&2
    exit 1
fi
if ! command -v pgloader >/dev/null; then
    echo "# installing pgloader from Debian's packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgloader >/dev/null
fi

echo "# host cores=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg) (other work running skews every figure)"
echo "# sqlite3 $sqlite_version"
echo "# psql $(psql --version | awk '{print $3}') server $(pg -Atc 'SHOW server_version')"
echo "# mariadb server $(my -N -e 'SELECT VERSION()')"
# Captured whole: SBCL dumps a debugger trace when a pipe closes early (`| head`).
pgloader_version=$(pgloader --version)
echo "# pgloader ${pgloader_version%%$'\n'*} (package $(dpkg-query -W -f '${Version}' pgloader 2>/dev/null || echo '?'))"

csv="$work/people-$rows-seed$seed-bad$bad.csv"
if [[ -f $csv ]]; then
    echo "# csv $csv (reused)"
else
    # gen_rows.py writes FILE.part and renames at the end, so an existing file is complete.
    python3 "$here/gen_rows.py" --rows "$rows" --seed "$seed" --bad-percent "$bad" "$csv" 2>&1 | sed 's/^/# /'
fi
echo "# csv bytes=$(stat -c %s "$csv")"

# --- a. psql \copy -----------------------------------------------------------------------
echo "# postgres synchronous_commit=$(pg -Atc 'SHOW synchronous_commit') fsync=$(pg -Atc 'SHOW fsync') wal_level=$(pg -Atc 'SHOW wal_level')"
pg -q <<'SQL'
DROP TABLE IF EXISTS bench_people_copy;
CREATE TABLE bench_people_copy (
    sfzh text PRIMARY KEY, xm text, xb text, csrq text, mz text, hjdz text, xzqh text,
    sjhm text, dwtyxydm text, ysr text, jtrk text, sg text, sfcb text, djsj text, bz text
);
SQL
# A checkpoint first, here and before datahall's import: neither pays for the other's
# dirty pages (without it the ratio moved by ±0.1 between runs).
pg -q -c CHECKPOINT
start=$EPOCHREALTIME
pg -q -c "\\copy bench_people_copy FROM '$csv' WITH (FORMAT csv, HEADER true)"
end=$EPOCHREALTIME
report psql_copy "$(pg -Atc 'SELECT count(*) FROM bench_people_copy')" "$start" "$end"
pg -q -c 'DROP TABLE bench_people_copy'

# --- b. sqlite3 .import --------------------------------------------------------------------
db="$work/bench.sqlite"
rm -f "$db" "$db-wal" "$db-shm"
sqlite3 "$db" >/dev/null <<'SQL'
PRAGMA journal_mode=WAL;
CREATE TABLE bench_people (
    sfzh TEXT PRIMARY KEY, xm TEXT, xb TEXT, csrq TEXT, mz TEXT, hjdz TEXT, xzqh TEXT,
    sjhm TEXT, dwtyxydm TEXT, ysr TEXT, jtrk TEXT, sg TEXT, sfcb TEXT, djsj TEXT, bz TEXT
);
SQL
# synchronous is per connection, so it is set in the importing session itself; journal_mode
# is stored in the file. .import wraps all rows in one transaction when autocommit is on.
start=$EPOCHREALTIME
settings=$(sqlite3 "$db" <<SQL
PRAGMA synchronous=FULL;
SELECT 'journal_mode=' || (SELECT journal_mode FROM pragma_journal_mode) || ' synchronous=' || (SELECT synchronous FROM pragma_synchronous);
.import --csv --skip 1 '$csv' bench_people
SQL
)
end=$EPOCHREALTIME
echo "# sqlite $settings (synchronous 2 = FULL)"
report sqlite_import "$(sqlite3 "$db" 'SELECT count(*) FROM bench_people')" "$start" "$end"
rm -f "$db" "$db-wal" "$db-shm"

# --- MariaDB source (setup for c and d, reported for reference) ----------------------------
echo "# mariadb innodb_flush_log_at_trx_commit=$(my -N -e 'SELECT @@innodb_flush_log_at_trx_commit') innodb_buffer_pool_size=$(my -N -e 'SELECT @@innodb_buffer_pool_size')"
"$here/load_mariadb.sh" "$csv" utf8
my_rows=$(my -N -e 'SELECT COUNT(*) FROM bench_people')

# --- c. pgloader ---------------------------------------------------------------------------
# pgloader wants postgresql://; a password, if any, goes in the MySQL URL.
pg_url_pgloader=${pg_url/#postgres:\/\//postgresql://}
my_auth=$my_user${BENCH_MY_PASSWORD:+:$BENCH_MY_PASSWORD}
# Into schema public: any other target schema makes pgloader run ALTER DATABASE … SET
# search_path on the shared database. DATETIME is Beijing wall-clock time without a zone;
# pgloader's default cast to timestamptz would read it as the session's zone (UTC here).
cat >"$work/bench.load" <<EOF
LOAD DATABASE
    FROM mysql://$my_auth@$my_host:$my_port/$my_db
    INTO $pg_url_pgloader
    INCLUDING ONLY TABLE NAMES MATCHING 'bench_people'
    ALTER SCHEMA '$my_db' RENAME TO 'public'
    ALTER TABLE NAMES MATCHING 'bench_people' RENAME TO 'bench_people_pgloader'
    CAST type datetime to timestamp drop default using zero-dates-to-null;
EOF
pg -q -c 'DROP TABLE IF EXISTS bench_people_pgloader'
start=$EPOCHREALTIME
pgloader --no-ssl-cert-verification "$work/bench.load" >"$work/pgloader.log" 2>&1 ||
    { tail -30 "$work/pgloader.log" >&2; exit 1; }
end=$EPOCHREALTIME
pg_rows=$(pg -Atc 'SELECT count(*) FROM bench_people_pgloader')
if [[ $pg_rows != "$my_rows" ]]; then
    echo "baselines.sh: pgloader moved $pg_rows of $my_rows rows (see $work/pgloader.log)" >&2
    exit 1
fi
report pgloader "$pg_rows" "$start" "$end"
echo "# pgloader own summary total (sums its steps, some overlap): $(grep 'Total import time' "$work/pgloader.log" | awk '{print $NF}')"

# --- d. incremental upsert -----------------------------------------------------------------
# The watermark is what the full move saw; then 1 % of rows change at the source. Which
# rows is fixed by the key's CRC, so reruns touch the same ones.
watermark=$(my -N -e "SELECT DATE_FORMAT(MAX(updated_at), '%Y-%m-%d %H:%i:%s.%f') FROM bench_people")
changes=$(( my_rows / 100 > 0 ? my_rows / 100 : 1 ))
my -e "UPDATE bench_people SET updated_at = NOW(6), ysr = ysr + 100, bz = '收入复核'
       ORDER BY CRC32(sfzh), sfzh LIMIT $changes"
cols="sfzh, xm, xb, csrq, mz, hjdz, xzqh, sjhm, dwtyxydm, ysr, jtrk, sg, sfcb, djsj, bz, updated_at"
sets=$(sed -E 's/([a-z_]+)/\1 = EXCLUDED.\1/g; s/sfzh = EXCLUDED.sfzh, //' <<<"$cols")
# mariadb --batch escapes tab, newline and backslash exactly as COPY's text format expects;
# only NULL differs ("NULL" instead of \N), and no value in this data is the text "NULL".
cat >"$work/upsert.sql" <<EOF
BEGIN;
CREATE TEMP TABLE delta (LIKE bench_people_pgloader) ON COMMIT DROP;
\\copy delta ($cols) FROM pstdin WITH (FORMAT text, NULL 'NULL')
INSERT INTO bench_people_pgloader ($cols) SELECT $cols FROM delta
    ON CONFLICT (sfzh) DO UPDATE SET $sets;
COMMIT;
EOF
start=$EPOCHREALTIME
out=$(my --batch -N -e "SELECT $cols FROM bench_people WHERE updated_at > '$watermark'" |
    pg -f "$work/upsert.sql")
end=$EPOCHREALTIME
upserted=$(grep -oP '^INSERT 0 \K[0-9]+' <<<"$out")
report incremental_upsert "$upserted" "$start" "$end"
seen=$(pg -Atc "SELECT count(*) FROM bench_people_pgloader WHERE bz = '收入复核'")
echo "# incremental check: changed=$changes upserted=$upserted visible_in_postgres=$seen watermark=$watermark"
[[ $seen == "$changes" ]] || { echo "baselines.sh: upsert mismatch" >&2; exit 1; }
