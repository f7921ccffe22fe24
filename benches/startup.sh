#!/usr/bin/env bash
# Time from `datahall serve --demo` on an empty database to the first served page.
# Usage: benches/startup.sh [runs] [database-url]
#   default: 5 runs on a fresh SQLite file each time; pass postgres://… to use an
#   (empty) PostgreSQL database, which is dropped and recreated between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
database=${2:-}
cargo build --release --quiet -p datahall
bin=target/release/datahall
port=18080
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for run in $(seq "$runs"); do
    if [[ -z "$database" ]]; then
        url="sqlite://$tmp/demo-$run.db"
    else
        url="$database"
        db=${url##*/}
        admin=${url%/*}/postgres
        psql "$admin" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\""
    fi
    start=$(date +%s%N)
    DATAHALL_LOG=warn "$bin" serve --demo --listen "127.0.0.1:$port" --database "$url" 2>/dev/null &
    pid=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$port/login"; do sleep 0.01; done
    end=$(date +%s%N)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "run $run: first page after $(( (end - start) / 1000000 )) ms"
done
