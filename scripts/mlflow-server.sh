#!/usr/bin/env bash
# Start an MLflow tracking server for runs that many nodes write to (SQL backend + artifact root).
# Binds to 127.0.0.1 unless MLFLOW_HOST says otherwise. Usage:
#   scripts/mlflow-server.sh start [DIR] [PORT]   # DIR defaults to results/mlflow-server
#   scripts/mlflow-server.sh stop [DIR]
# then: export MLFLOW_TRACKING_URI=http://127.0.0.1:PORT  and run snakemake as usual.
# The server runs in its own process group, which `stop` ends as a whole. MLflow's job runner
# (seven huey consumers, ~1 GiB, for GenAI jobs tunebench does not use) stays off unless
# MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true.
set -euo pipefail
action=${1:-start}
dir=$(realpath -m "${2:-results/mlflow-server}")
port=${3:-5000}
host=${MLFLOW_HOST:-127.0.0.1}
case "$action" in
start)
    mkdir -p "$dir/artifacts"
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false} \
        setsid mlflow server --host "$host" --port "$port" --workers 2 \
        --backend-store-uri "sqlite:///$dir/mlflow.db" \
        --artifacts-destination "$dir/artifacts" >"$dir/server.log" 2>&1 &
    echo $! >"$dir/server.pid"
    for _ in $(seq 360); do
        if python3 -c "import urllib.request as u; u.urlopen('http://$host:$port/health', timeout=1)" \
            2>/dev/null; then
            echo "export MLFLOW_TRACKING_URI=http://$host:$port"
            exit 0
        fi
        sleep 0.5
    done
    echo "mlflow-server: not healthy after 180 s; see $dir/server.log" >&2
    exit 1
    ;;
stop)
    [ -s "$dir/server.pid" ] || exit 0
    group=$(cat "$dir/server.pid") # setsid made the server the leader of its process group
    kill -TERM -- "-$group" 2>/dev/null || true
    for _ in $(seq 60); do
        kill -0 -- "-$group" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL -- "-$group" 2>/dev/null || true
    rm -f "$dir/server.pid"
    ;;
*)
    echo "usage: $0 start|stop [DIR] [PORT]" >&2
    exit 2
    ;;
esac
