#!/usr/bin/env bash
# Benchmarks for `broker token`, against the sandbox provider on 127.0.0.1.
#
#   benches/token.sh            # file store (and the keyring store when a
#                               # D-Bus session with a Secret Service is up)
#
# Needs hyperfine, curl and GNU time (Debian: hyperfine curl time); gh is
# measured as the reference peer when it is installed. To include the
# keyring, run it the way CI runs the tests:
#   dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock \
#       --components=secrets >/dev/null; benches/token.sh'
# Figures go to docs/benchmarks.md by hand, with the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -q -p broker -p broker-sandbox --bins
broker=$PWD/target/release/broker
sandbox_bin=$PWD/target/release/broker-sandbox
work=$(mktemp -d)
cleanup() {
    [ -n "${sandbox_pid:-}" ] && kill "$sandbox_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The sandbox prints one JSON line with its address and app credentials.
"$sandbox_bin" --port 0 > "$work/sandbox.json" &
sandbox_pid=$!
for _ in $(seq 100); do [ -s "$work/sandbox.json" ] && break; sleep 0.05; done
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$work/sandbox.json"; }
base=$(field base_url)
export PINTEREST_APP_ID=$(field pinterest_app_id)
export PINTEREST_APP_SECRET=$(field pinterest_app_secret)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redirect="http://localhost:$port/"
curl -sf -X POST --data-urlencode "uri=$redirect" "${base}_sandbox/redirect_uri" >/dev/null

# The "browser" is curl: it fetches the authorization page, which the
# sandbox approves at once, and follows the redirect to broker's listener.
printf '#!/bin/sh\nexec curl -sf -o /dev/null -L "$1"\n' > "$work/browser"
chmod +x "$work/browser"
export BROWSER="$work/browser"

# Makes a BROKER_HOME with one logged-in Pinterest account in `store`.
setup_home() {
    local home=$1 store=$2
    mkdir -p "$home"
    cat > "$home/config.toml" <<TOML
store = "$store"
[pinterest]
authorize_url = "${base}oauth/"
api_base = "$base"
redirect_uri = "$redirect"
TOML
    BROKER_HOME=$home BROKER_KEYRING_SERVICE="broker-bench-$$" "$broker" -q login pinterest
}

median_ms() {
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f ms (mean %.2f, min %.2f, %d runs)" % (r["median"]*1e3, r["mean"]*1e3, r["min"]*1e3, len(r["times"])))' "$1"
}

echo "machine: $(nproc) cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "broker release binary: $(stat -c %s "$broker") bytes"

# 1. `broker token` with a valid token, file store.
setup_home "$work/file" file
BROKER_HOME=$work/file hyperfine -N -w 20 -r 300 --export-json "$work/file.json" \
    "$broker token pinterest" >/dev/null 2>&1
echo "broker token, file store: median $(median_ms "$work/file.json")"
rss=0
for _ in $(seq 20); do
    r=$(BROKER_HOME=$work/file /usr/bin/time -f %M "$broker" token pinterest 2>&1 >/dev/null)
    [ "$r" -gt "$rss" ] && rss=$r
done
echo "broker token, file store: peak RSS ${rss} KiB (max of 20 runs)"

# 2. The same with the OS keyring, when one answers.
if [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
    setup_home "$work/keyring" keyring
    BROKER_HOME=$work/keyring BROKER_KEYRING_SERVICE="broker-bench-$$" \
        hyperfine -N -w 10 -r 100 --export-json "$work/keyring.json" \
        "$broker token pinterest" >/dev/null 2>&1
    echo "broker token, keyring store (gnome-keyring): median $(median_ms "$work/keyring.json")"
    rss=0
    for _ in $(seq 10); do
        r=$(BROKER_HOME=$work/keyring BROKER_KEYRING_SERVICE="broker-bench-$$" /usr/bin/time -f %M "$broker" token pinterest 2>&1 >/dev/null)
        [ "$r" -gt "$rss" ] && rss=$r
    done
    echo "broker token, keyring store: peak RSS ${rss} KiB (max of 10 runs)"
    BROKER_HOME=$work/keyring BROKER_KEYRING_SERVICE="broker-bench-$$" "$broker" -q logout pinterest
else
    echo "broker token, keyring store: skipped (no D-Bus session bus)"
fi

# 3. The reference peer: `gh auth token` reading a hosts.yml.
if command -v gh >/dev/null; then
    mkdir -p "$work/gh"
    cat > "$work/gh/hosts.yml" <<YAML
github.com:
    users:
        bench:
            oauth_token: gho_0000000000000000000000000000000000bench
    oauth_token: gho_0000000000000000000000000000000000bench
    user: bench
    git_protocol: https
YAML
    GH_CONFIG_DIR=$work/gh hyperfine -N -w 10 -r 100 --export-json "$work/gh.json" \
        "gh auth token" >/dev/null 2>&1
    echo "gh auth token ($(gh --version | head -1)): median $(median_ms "$work/gh.json")"
fi

# 4. 50 processes at once on an expired token: one refresh at the provider.
curl -sf -X POST -d access_secs=60 "${base}_sandbox/lifetimes" >/dev/null
setup_home "$work/burst" file
curl -sf -X POST -d access_secs=2592000 "${base}_sandbox/lifetimes" >/dev/null
count() { curl -sf "${base}_sandbox/count_grant?grant_type=refresh_token" | sed 's/[^0-9]//g'; }
before=$(count)
start=$(date +%s%N)
for i in $(seq 50); do
    BROKER_HOME=$work/burst "$broker" token pinterest > "$work/burst.$i" &
done
wait $(jobs -p | grep -v "^$sandbox_pid$")
end=$(date +%s%N)
after=$(count)
distinct=$(cat "$work"/burst.* | sort -u | wc -l)
echo "50 concurrent broker token on an expired token: $((after - before)) refresh request(s), $distinct distinct token(s) printed, wall $(( (end - start) / 1000000 )) ms"
