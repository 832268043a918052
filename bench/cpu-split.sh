#!/usr/bin/env bash
# Where a first sync's CPU goes, per process: the sync (the CLI, as a user runs it), PostgreSQL (all
# its backends) and the simulator serving it. On a 2-core machine the three compete for the same
# cores, so a sync that is "slow" may be waiting for PostgreSQL or the simulator rather than itself.
#
#   bash bench/cpu-split.sh [STUDENTS] [ADMIN_URL]
#
# STUDENTS defaults to 100000; ADMIN_URL (a PostgreSQL superuser URL) to
# postgres://postgres@127.0.0.1:5432/postgres. A scratch database is created and dropped. Prints one
# line of seconds and the run's per-stream timings. Needs Linux (/proc) and psql on the PATH.
# Set NODEFLAGS to pass flags to the sync's Node (e.g. --cpu-prof --cpu-prof-dir=.tmp/prof). Set
# RESYNC=1 to measure a no-change re-sync instead: a first sync runs unmeasured before it.
set -euo pipefail
cd "$(dirname "$0")/.."

students="${1:-100000}"
admin="${2:-postgres://postgres@127.0.0.1:5432/postgres}"
db="rs_cpu_split_$$"
url="${admin%/*}/$db"
work="$(mktemp -d)"
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  psql -q "$admin" -c "drop database if exists $db with (force)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# CPU ticks (user + system) of a process and of its children that have exited.
ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"
secs() { awk -v t="$1" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }'; }

# The simulator in its own process (not through bin/rostersync.js, which would run it in a child).
# The sync runs with the heap flags bin/rostersync.js gives it.
ROSTERSYNC_CHILD=1 node --max-old-space-size=4096 --import tsx src/cli/main.ts clever-sim \
  --students "$students" --seed 1 --rate-limit 100000 >"$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 300); do grep -q 'token=' "$work/sim.out" && break; sleep 0.2; done
sim_url="$(grep -o 'url=[^ ]*' "$work/sim.out" | head -1 | cut -d= -f2)"
token="$(grep -o 'token=[^ ]*' "$work/sim.out" | head -1 | cut -d= -f2)"
[ -n "$token" ] || { cat "$work/sim.out" >&2; exit 1; }

psql -q "$admin" -c "create database $db" >/dev/null
# Migrations first, so the measurement is the sync alone.
ROSTERSYNC_CHILD=1 node --import tsx src/cli/main.ts status --database "$url" >/dev/null
if [ "${RESYNC:-0}" = 1 ]; then
  ROSTERSYNC_CHILD=1 node --max-old-space-size=384 --initial-old-space-size=96 --import tsx src/cli/main.ts sync \
    --clever-url "$sim_url" --clever-token "$token" --database "$url" --json >/dev/null 2>&1
fi
postmaster="$(head -1 "$(psql -Atc 'show data_directory' "$admin")/postmaster.pid")"

pg0="$(ticks "$postmaster")"
sim0="$(ticks "$sim_pid")"
# The sync's CPU: what this shell's waited-for children used, across the sync (nothing else runs).
self0="$(ticks $$)"
start="$(date +%s.%N)"
# shellcheck disable=SC2086
ROSTERSYNC_CHILD=1 node --max-old-space-size=384 --initial-old-space-size=96 ${NODEFLAGS:-} --import tsx src/cli/main.ts sync \
  --clever-url "$sim_url" --clever-token "$token" --database "$url" --json >"$work/report.json" 2>"$work/sync.log"
end="$(date +%s.%N)"
sync_ticks=$(($(ticks $$) - self0))
# Backends of the sync's connections have exited by now: their CPU is in the postmaster's children.
pg1="$(ticks "$postmaster")"
sim1="$(ticks "$sim_pid")"

node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const [wall, sync, pg, sim] = process.argv.slice(2).map(Number);
console.log(JSON.stringify({
  students: Number(process.argv[6]), status: r.status, wallSeconds: +wall.toFixed(1),
  syncCpuSeconds: sync, postgresCpuSeconds: pg, simulatorCpuSeconds: sim,
  coresBusy: +((sync + pg + sim) / wall).toFixed(2), timingsMs: r.stats.timings,
}));
' "$work/report.json" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" \
  "$(secs "$sync_ticks")" "$(secs "$((pg1 - pg0))")" "$(secs "$((sim1 - sim0))")" "$students"
