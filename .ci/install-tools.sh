#!/usr/bin/env bash
# Installs every tool the build and the tests need, idempotently: each step checks first and skips
# what is already there. Both `make run` and `make test` call it, so a fresh machine needs nothing by
# hand. docs/DEVELOPMENT.md says why each pin and work-around exists.
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.11
WASM_OPT_NPM_VERSION=132
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[install-tools] %s\n' "$*"; }

# The wasm-bindgen CLI must match the wasm-bindgen crate exactly; Cargo.lock is the source of truth.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock"
}

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# `cargo install NAME --locked` fails on this toolchain for both CLIs (their lockfiles pin crates that
# need a newer rustc or are missing from the registry). The failed attempt still unpacks the source
# into the registry cache; we copy it, move one pin down, and install from the copy.
install_from_registry_source() {
  local name=$1 version=$2 pin_pkg=$3 pin_version=$4
  local src
  src=$(ls -d "$HOME"/.cargo/registry/src/*/"$name-$version" 2>/dev/null | head -n 1 || true)
  if [ -z "$src" ]; then
    log "fetching $name $version source (an expected build failure may follow)"
    cargo install "$name" --version "$version" --locked --root "$(mktemp -d)" >/dev/null 2>&1 || true
    src=$(ls -d "$HOME"/.cargo/registry/src/*/"$name-$version" 2>/dev/null | head -n 1 || true)
  fi
  [ -n "$src" ] || { log "could not fetch $name $version"; exit 1; }
  local work
  work=$(mktemp -d)
  cp -r "$src" "$work/$name"
  # The CLIs' own release profiles use fat LTO and one codegen unit: one long single-threaded link.
  # A lighter profile for the install builds them in about two thirds of the time, and the
  # cargo-leptos built this way produces a byte-identical site.
  (cd "$work/$name" && cargo update -p "$pin_pkg" --precise "$pin_version" &&
    CARGO_TARGET_DIR="$work/target" CARGO_PROFILE_RELEASE_LTO=false \
      CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
      cargo install --path . --locked)
  rm -rf "$work"
}

# 1. The wasm target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. Debian's Chromium for Playwright (Playwright cannot download its own browser here).
#    Debian's binaryen (wasm-opt 108) produces wasm that fails to hydrate: make sure it is absent.
apt_updated=0
if ! [ -x /usr/bin/chromium ]; then
  log "installing chromium"
  sudo_if_needed apt-get update -qq && apt_updated=1
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq chromium >/dev/null
fi
# openssl: `make bench-page-load` makes a throwaway certificate for nginx (.ci/behind-tls-proxy.sh).
if ! command -v openssl >/dev/null; then
  log "installing openssl"
  [ "$apt_updated" = 1 ] || { sudo_if_needed apt-get update -qq && apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq openssl >/dev/null
fi
# The sqlite3 shell: `make screenshots` backdates a few messages of its demo data with it.
if ! command -v sqlite3 >/dev/null; then
  log "installing sqlite3"
  [ "$apt_updated" = 1 ] || { sudo_if_needed apt-get update -qq && apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq sqlite3 >/dev/null
fi
if dpkg -s binaryen >/dev/null 2>&1; then
  log "removing Debian's binaryen (its wasm-opt breaks hydration)"
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get remove -y -qq binaryen >/dev/null
fi

# 2b. PostgreSQL's programs for the tests' throwaway cluster (tests/api/postgres.rs starts its own;
#     the packaged `main` cluster is never used, and installing does not start it here).
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  log "installing postgresql"
  [ "$apt_updated" -eq 1 ] || { sudo_if_needed apt-get update -qq && apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq postgresql >/dev/null
fi

# 2c. The broker and the load balancer of the many-nodes tests and `make run-cluster`: each test
#     starts its own nats-server and nginx on free ports (installing starts neither here).
if ! command -v nats-server >/dev/null || ! [ -x /usr/sbin/nginx ]; then
  log "installing nats-server and nginx"
  [ "$apt_updated" -eq 1 ] || { sudo_if_needed apt-get update -qq && apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq nats-server nginx-light >/dev/null
  # Where systemd runs, the packages start their own services (port 80, port 4222); nothing here
  # uses them, so the ones just installed are stopped and left disabled.
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    sudo_if_needed systemctl disable --now nginx nats-server >/dev/null 2>&1 || true
  fi
fi
: "$apt_updated"

# 3. wasm-opt from npm (a recent binaryen).
if ! wasm-opt --version 2>/dev/null | grep -q "version $WASM_OPT_NPM_VERSION"; then
  log "installing wasm-opt $WASM_OPT_NPM_VERSION from npm"
  npm install -g --silent "binaryen@$WASM_OPT_NPM_VERSION" >/dev/null
fi

# 4 and 5. cargo-leptos, and wasm-bindgen-cli matching Cargo.lock. Each build has long stretches
# where one crate keeps one core busy; built side by side they fill each other's gaps (12.4 minutes
# for both on 2 cores, against about 16 one after the other).
wb=$(wasm_bindgen_version)
[ -n "$wb" ] || { log "no wasm-bindgen in Cargo.lock"; exit 1; }
pids=()
if ! wasm-bindgen --version 2>/dev/null | grep -q "$wb"; then
  log "building wasm-bindgen-cli $wb"
  install_from_registry_source wasm-bindgen-cli "$wb" webpki-roots 1.0.10 &
  pids+=($!)
fi
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "building cargo-leptos $CARGO_LEPTOS_VERSION"
  install_from_registry_source cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1 &
  pids+=($!)
fi
for pid in "${pids[@]}"; do
  wait "$pid" || { log "a tool build failed (see above)"; exit 1; }
done

# 6. Playwright and its TypeScript, from the committed lockfile.
if [ -f "$root/end2end/package-lock.json" ] && ! [ -d "$root/end2end/node_modules/@playwright/test" ]; then
  log "installing end2end npm packages"
  (cd "$root/end2end" && npm ci --silent --no-audit --no-fund)
fi

log "all tools present"
