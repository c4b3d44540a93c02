#!/usr/bin/env bash
# Write cost of two builds side by side (issue 24): bench/write-dimension-cpu.mjs on a fresh
# database for each run, the builds alternated, on one server.
#   bash bench/write-dimension-pairs.sh <dist before> <dist after> <admin url> [pairs]
# Prints per run: the build, the storage mode, PostgreSQL µs of CPU per event with 0 and with 4
# dimensions and 2 measures, and their ratio. Run it with the host to itself.
set -euo pipefail
before=$1 after=$2 admin=$3 pairs=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
for round in $(seq 1 "$pairs"); do
  for build in before after; do
    dist=$before; [ "$build" = after ] && dist=$after
    db="dash_wpairs_${build}_$$_$round"
    url="${admin%/*}/$db"
    psql -q "$admin" -c "CREATE DATABASE $db"
    DATABASE_URL=$url STORAGE_MODE=auto node "$dist/apps/web/src/migrate.js" >/dev/null 2>&1
    node "$here/write-dimension-cpu.mjs" "$dist" "$url" 1000 100 2>/dev/null | tail -1 |
      node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(process.argv[1], r.mode, r.plain.cpuUsPerEvent, r.dimensioned.cpuUsPerEvent, r.cpuRatio)' "$build"
    psql -q "$admin" -c "DROP DATABASE $db"
  done
done
