#!/usr/bin/env bash
# Stop the processes slurm-up.sh started (by the PIDs it recorded), and nothing else.
set -u
STATE=${SLURM_TEST_STATE:-/tmp/tunebench-slurm}
for name in slurmd slurmctld munged; do
    pidfile="$STATE/$name.pid"
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
done
