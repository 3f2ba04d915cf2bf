#!/usr/bin/env bash
# `make run-cluster`: a whole deployment on this machine, for trying it: a throwaway PostgreSQL
# (.ci/throwaway-postgres.sh), one nats-server, two Parley nodes and nginx with the sample
# configuration docs/nginx.conf, each on a free loopback port. Open the address it prints; every
# part stops and is removed on Ctrl-C.
#   usage: .ci/run-cluster.sh [NODES]   (default 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
nodes=${1:-2}
if [ -z "${DATABASE_URL:-}" ]; then
  exec "$root/.ci/throwaway-postgres.sh" "$0" "$nodes"
fi

# shellcheck source=.ci/throwaway.sh
. "$root/.ci/throwaway.sh"
throwaway_folder parley-cluster

nats_port=$(free_port)
"$(command -v nats-server || echo /usr/sbin/nats-server)" -a 127.0.0.1 -p "$nats_port" >"$dir/nats.log" 2>&1 &
pids+=($!)

upstreams=""
for n in $(seq 1 "$nodes"); do
  port=$(free_port)
  BROKER_URL="nats://127.0.0.1:$nats_port" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    LEPTOS_SITE_ROOT="$root/target/site" PARLEY_TRUSTED_PROXIES=127.0.0.1 \
    "$root/target/release/parley" >"$dir/node$n.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/healthz"
  upstreams="$upstreams        server 127.0.0.1:$port;\n"
  echo "node $n: http://127.0.0.1:$port (log $dir/node$n.log)"
done

listen=$(free_port)
# The sample configuration, with this run's nodes and port.
awk -v ups="$upstreams" -v listen="$listen" '
  /server 127\.0\.0\.1:300[12];/ { if (!done) { printf "%s", ups; done = 1 } next }
  { sub(/listen 127\.0\.0\.1:8080;/, "listen 127.0.0.1:" listen ";"); print }
' "$root/docs/nginx.conf" >"$dir/nginx.conf"
"$(command -v nginx || echo /usr/sbin/nginx)" -p "$dir" -c "$dir/nginx.conf" &
pids+=($!)
wait_for "http://127.0.0.1:$listen/readyz"
echo
echo "Parley on $nodes nodes behind nginx: http://127.0.0.1:$listen  (Ctrl-C stops everything)"
wait
