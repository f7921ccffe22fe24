#!/usr/bin/env bash
# Catalogue search latency at 100k entries, p50/p99 of 1,000 queries, on SQLite and on
# PostgreSQL (a scratch database `datahall_bench` on the local server).
# Usage: benches/search.sh [entries] [queries]
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${1:-100000}
queries=${2:-1000}
cargo build --release --quiet -p datahall
bin=target/release/datahall
echo "== SQLite"
"$bin" bench search --entries "$entries" --queries "$queries"
if pg_isready -h 127.0.0.1 -p 5432 -q; then
    echo "== PostgreSQL"
    psql postgres://postgres@127.0.0.1:5432/postgres -qc 'DROP DATABASE IF EXISTS datahall_bench WITH (FORCE)' -c 'CREATE DATABASE datahall_bench'
    DATAHALL_BENCH_DATABASE=postgres://postgres@127.0.0.1:5432/datahall_bench "$bin" bench search --entries "$entries" --queries "$queries"
    psql postgres://postgres@127.0.0.1:5432/postgres -qc 'DROP DATABASE datahall_bench WITH (FORCE)'
fi
