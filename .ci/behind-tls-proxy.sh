#!/usr/bin/env bash
# One Parley node behind nginx speaking TLS and HTTP/2, as docs/DEPLOY.md deploys it, all throwaway:
# the node on a free loopback port, nginx on LISTEN_PORT with the sample configuration
# (docs/nginx.conf: the one node as its upstream, its listen line made `ssl http2`) and a
# self-signed certificate made for this run. Everything stops and is removed when this script is
# stopped. The node takes the rest of its settings (DATABASE_URL, LEPTOS_SITE_ROOT, …) from the
# environment; PARLEY_SECURE_COOKIES is set, as behind any TLS proxy.
#   usage: .ci/behind-tls-proxy.sh LISTEN_PORT
# `make bench-page-load` serves the slow-network measurement this way as well as straight.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
listen=${1:?usage: $0 LISTEN_PORT}

# shellcheck source=.ci/throwaway.sh
. "$root/.ci/throwaway.sh"
throwaway_folder parley-tls

node=$(free_port)
LEPTOS_SITE_ADDR="127.0.0.1:$node" PARLEY_TRUSTED_PROXIES=127.0.0.1 PARLEY_SECURE_COOKIES=true \
  "${PARLEY_SERVER_BINARY:-$root/target/release/parley}" &
pids+=($!)
wait_for "http://127.0.0.1:$node/healthz"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
awk -v node="$node" -v listen="$listen" -v dir="$dir" '
  /server 127\.0\.0\.1:3001;/ { print "        server 127.0.0.1:" node ";"; next }
  /server 127\.0\.0\.1:3002;/ { next }
  /listen 127\.0\.0\.1:8080;/ {
    print "        listen 127.0.0.1:" listen " ssl http2;"
    print "        ssl_certificate " dir "/cert.pem;"
    print "        ssl_certificate_key " dir "/key.pem;"
    next
  }
  { print }
' "$root/docs/nginx.conf" >"$dir/nginx.conf"
"$(command -v nginx || echo /usr/sbin/nginx)" -p "$dir" -c "$dir/nginx.conf" &
pids+=($!)
wait_for "https://127.0.0.1:$listen/readyz"
echo "Parley behind TLS and HTTP/2: https://127.0.0.1:$listen"
wait
