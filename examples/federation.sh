#!/bin/sh
# A two-site federation of dev nodes on loopback. Site A runs no executor; site B runs the dev
# shell executor (type cli). A process submitted at A is forwarded to B, and its output comes
# back to A. Both nodes stop, and their data goes, when the script ends.
#
#     sh examples/federation.sh        (ports: PORT_A=50180 PORT_B=50181; PYTHON, COLONIES)
set -eu
PORT_A=${PORT_A:-50180}
PORT_B=${PORT_B:-50181}
PYTHON=${PYTHON:-python3}
COLONIES=${COLONIES:-colonies}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d)

$COLONIES dev --port "$PORT_A" --data-dir "$DIR/a" --no-executor --peers "http://127.0.0.1:$PORT_B" >"$DIR/a.log" 2>&1 &
SITE_A=$!
$COLONIES dev --port "$PORT_B" --data-dir "$DIR/b" --peers "http://127.0.0.1:$PORT_A" >"$DIR/b.log" 2>&1 &
SITE_B=$!
trap 'kill -TERM $SITE_A $SITE_B 2>/dev/null; wait; rm -rf "$DIR"' EXIT

for log in "$DIR/a.log" "$DIR/b.log"; do
    tries=0
    until grep -q '^ready' "$log"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 600 ]; then echo "a dev node did not start:" >&2; cat "$log" >&2; exit 1; fi
        sleep 0.1
    done
done
echo "site A: $(grep '^ready' "$DIR/a.log")"
echo "site B: $(grep '^ready' "$DIR/b.log")"

# The client talks to site A only.
eval "$(grep '^export' "$DIR/a.log")"
echo "submitted at site A, ran at site B:"
$PYTHON "$HERE/submit.py" echo cli hello from site B
