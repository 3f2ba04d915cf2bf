#!/usr/bin/env bash
# How much memory the server uses while one account downloads its export (GET /api/me/export), for
# an account with N messages: starts the release server on a fresh SQLite database, signs up two
# people, puts N messages between them straight into the table (as an import would), then downloads
# Alice's export while reading the server's resident memory. Prints one line per run, e.g.
#
#   export messages=1000000 bytes=… seconds=… rss_before_mib=… rss_peak_mib=… rss_growth_mib=…
#
# rss_growth_mib is the peak resident memory during the download minus what it was just before
# (the peak is reset first through /proc/PID/clear_refs). Bounded memory means it stays flat as N
# grows. Usage: benches/export_memory.sh [N ...] (default: 10000 1000000). Needs `make release`,
# sqlite3, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=target/release/parley
[ -x "$binary" ] || { echo "build the release first: make release" >&2; exit 1; }
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(10000 1000000)

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
peak_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

run() {
  local count=$1 dir port pid jar
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  DATABASE_URL="sqlite://$dir/export.db" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site \
    PARLEY_SIGNUPS_PER_IP_PER_HOUR=0 RUST_LOG=warn "$binary" >"$dir/server.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' RETURN
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  jar="$dir/jar"
  for name in alice bob; do
    curl -fs -c "$jar" -H 'content-type: application/json' \
      -d "{\"username\":\"$name\",\"password\":\"correct horse battery staple\"}" \
      "http://127.0.0.1:$port/api/auth/signup" >/dev/null
  done
  # The jar now holds Bob's session; Alice logs in again for the download.
  curl -fs -c "$jar" -H 'content-type: application/json' \
    -d '{"username":"alice","password":"correct horse battery staple"}' \
    "http://127.0.0.1:$port/api/auth/login" >/dev/null
  sqlite3 "$dir/export.db" "
    with recursive n(i) as (select 1 union all select i + 1 from n where i < $count)
    insert into chat (sender, receiver, message, date)
    select 1 + (i % 2), 2 - (i % 2), 'message ' || i || ': about the size of a short chat message', 1700000000000 + i
    from n;"
  local before start end
  before=$(rss_kib $pid)
  echo 5 >"/proc/$pid/clear_refs"
  start=$(date +%s.%N)
  curl -fs -b "$jar" -o "$dir/export.json" "http://127.0.0.1:$port/api/me/export"
  end=$(date +%s.%N)
  local peak bytes messages
  peak=$(peak_kib $pid)
  bytes=$(stat -c %s "$dir/export.json")
  messages=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(len(d["conversations"][0]["messages"]))' "$dir/export.json")
  [ "$messages" = "$count" ] || { echo "the export has $messages messages, not $count" >&2; exit 1; }
  awk -v n="$count" -v b="$bytes" -v s="$start" -v e="$end" -v r0="$before" -v p="$peak" 'BEGIN {
    printf "export messages=%d bytes=%d seconds=%.2f rss_before_mib=%.1f rss_peak_mib=%.1f rss_growth_mib=%.1f\n",
      n, b, e - s, r0 / 1024, p / 1024, (p - r0) / 1024 }'
}

for count in "${counts[@]}"; do
  run "$count"
done
