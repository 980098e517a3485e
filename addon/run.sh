#!/bin/sh
# Home Assistant add-on entry point: `strmsync serve` on the ingress port, data in /data.
#
# strmsync reads the add-on's options (/data/options.json, written by the Supervisor)
# itself, so no bashio is needed; this script only points it there, picks the log level
# for the serving process, and replaces itself with strmsync so that the SIGTERM of
# `docker stop` (routed to the CMD by S6_CMD_RECEIVE_SIGNALS) reaches strmsync directly.
# STRMSYNC_ADDON_DATA / _PORT / _HOST exist so tests can run this outside a container.
set -eu

data="${STRMSYNC_ADDON_DATA:-/data}"
port="${STRMSYNC_ADDON_PORT:-8099}"
host="${STRMSYNC_ADDON_HOST:-0.0.0.0}"
options="$data/options.json"

mkdir -p "$data"
if [ ! -f "$options" ]; then
    echo "strmsync add-on: no $options; starting with the default options" >&2
fi

# The Supervisor validated the value against list(debug|info|warning|error).
level=$(python3 -c '
import json, sys
try:
    with open(sys.argv[1]) as f:
        print(json.load(f).get("log_level") or "info")
except FileNotFoundError:
    print("info")
' "$options")

export STRMSYNC_OPTIONS_FILE="$options"
echo "strmsync add-on: port $port, data in $data, log level $level" >&2
exec strmsync --log-level "$level" serve --host "$host" --port "$port" --data "$data"
