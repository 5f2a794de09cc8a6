#!/usr/bin/env bash
# Start an MLflow tracking server for runs that many nodes write to (SQL backend + artifact root).
# Usage:
#   scripts/mlflow-server.sh start [DIR] [PORT]   # DIR defaults to results/mlflow-server
#   scripts/mlflow-server.sh stop [DIR]
# `start` prints the lines to export (`eval "$(scripts/mlflow-server.sh start ...)"`), then run
# snakemake as usual. It refuses a port in use and a DIR whose server is running.
# Binds to 127.0.0.1 unless MLFLOW_HOST says otherwise. MLFLOW_AUTH=basic (the default when
# MLFLOW_HOST is not 127.0.0.1 or localhost) runs MLflow's basic authentication: every request
# needs a user and password; the admin's password is generated once into DIR/admin-password
# (readable by you only) and the printed exports read it from there. MLFLOW_AUTH=none turns it off.
# The server runs in its own process group, which `stop` ends as a whole. MLflow's job runner
# (seven huey consumers, ~1 GiB, for GenAI jobs tunebench does not use) stays off unless
# MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true.
set -euo pipefail
action=${1:-start}
dir=$(realpath -m "${2:-results/mlflow-server}")
port=${3:-5000}
host=${MLFLOW_HOST:-127.0.0.1}
case "$host" in
127.0.0.1 | localhost) auth=${MLFLOW_AUTH:-none} ;;
*) auth=${MLFLOW_AUTH:-basic} ;;
esac
running() { [ -s "$dir/server.pid" ] && kill -0 -- "-$(cat "$dir/server.pid")" 2>/dev/null; }
case "$action" in
start)
    if running; then
        echo "mlflow-server: already running from $dir (pid $(cat "$dir/server.pid")); stop it first" >&2
        exit 1
    fi
    # as the server binds (SO_REUSEADDR): fails only if a socket listens there
    if ! python3 -c "import socket as k, sys; s = k.socket(); s.setsockopt(k.SOL_SOCKET, k.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))" "$host" "$port" 2>/dev/null; then
        echo "mlflow-server: port $port on $host is in use; choose another port" >&2
        exit 1
    fi
    mkdir -p "$dir/artifacts"
    app=()
    case "$auth" in
    basic)
        for secret in admin-password secret-key; do # generated once, readable by you only
            if [ ! -s "$dir/$secret" ]; then
                (umask 077 && python3 -c "import secrets; print(secrets.token_urlsafe(24))" >"$dir/$secret")
            fi
        done
        (umask 077 && cat >"$dir/basic_auth.ini" <<EOF
[mlflow]
default_permission = READ
database_uri = sqlite:///$dir/basic_auth.db
admin_username = admin
admin_password = $(cat "$dir/admin-password")
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
EOF
        )
        export MLFLOW_AUTH_CONFIG_PATH="$dir/basic_auth.ini"
        MLFLOW_FLASK_SERVER_SECRET_KEY=$(cat "$dir/secret-key") # signs the CSRF tokens
        export MLFLOW_FLASK_SERVER_SECRET_KEY
        app=(--app-name basic-auth)
        ;;
    none) ;;
    *)
        echo "mlflow-server: MLFLOW_AUTH must be basic or none, not '$auth'" >&2
        exit 2
        ;;
    esac
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false} \
        setsid mlflow server --host "$host" --port "$port" --workers 2 "${app[@]}" \
        --backend-store-uri "sqlite:///$dir/mlflow.db" \
        --artifacts-destination "$dir/artifacts" >"$dir/server.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/server.pid"
    reach=$host
    [ "$host" = 0.0.0.0 ] && reach=127.0.0.1
    for _ in $(seq 360); do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$dir/server.pid"
            echo "mlflow-server: the server exited at start; see $dir/server.log" >&2
            exit 1
        fi
        if python3 -c "import urllib.request as u; u.urlopen('http://$reach:$port/health', timeout=1)" \
            2>/dev/null; then
            echo "export MLFLOW_TRACKING_URI=http://$host:$port"
            if [ "$auth" = basic ]; then
                echo "export MLFLOW_TRACKING_USERNAME=admin"
                echo "export MLFLOW_TRACKING_PASSWORD=\"\$(cat $dir/admin-password)\""
            fi
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
