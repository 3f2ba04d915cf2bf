# The two commands a newcomer needs (README.md): `make run` and `make test`.
# Both first run .ci/install-tools.sh, which installs whatever this machine lacks.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

# Where `make run` listens and keeps its data (override on the command line or in the environment).
LEPTOS_SITE_ADDR ?= 127.0.0.1:3000
DATABASE_URL ?= sqlite://data/parley.db
export LEPTOS_SITE_ADDR DATABASE_URL

.PHONY: run run-postgres run-cluster test tools release lint unit e2e e2e-postgres screenshots

## run: build the release build and serve it on the SQLite default
run: release
	LEPTOS_SITE_ROOT=target/site ./target/release/parley

## run-postgres: the same, on a throwaway PostgreSQL database removed when the server stops
run-postgres: release
	LEPTOS_SITE_ROOT=target/site .ci/throwaway-postgres.sh ./target/release/parley

## run-cluster: PostgreSQL, NATS, two nodes and nginx (docs/nginx.conf), all throwaway, on free ports
run-cluster: release
	.ci/run-cluster.sh 2

## test: everything CI checks: formatting, clippy on both builds, unit + integration tests, Playwright
test: tools lint unit release e2e

tools:
	@bash .ci/install-tools.sh

# --split cuts the wasm by route (the lazy routes in src/app.rs): a page downloads the main module and
# its own route's chunks. --precompress writes .gz and .br beside each asset; the server sends them to
# browsers that accept them. Its .gz files use a fast level; gzip -9 makes them ~15 % smaller, once.
release: tools
	cargo leptos build --release --split --precompress
	gzip -9 --no-name --keep --force target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/parley.css

lint:
	cargo fmt --check
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings
	cd end2end && npx tsc --noEmit -p .

# The unit tests and the integration suite on SQLite, then the integration suite again on PostgreSQL
# (a throwaway cluster the tests start and remove themselves; see tests/api/postgres.rs).
unit:
	cargo test --features ssr
	PARLEY_TEST_BACKEND=postgres cargo test --features ssr --test api

# Runs against the release build (what users get), on a temporary database; see end2end/playwright.config.ts.
e2e:
	cd end2end && npx playwright test

# The same suite once more, with the server on an empty database of a throwaway PostgreSQL cluster.
# Not part of `make test`: it adds about a minute, and a fresh machine's `make test` must stay within
# its time budget (README); the integration suite covers PostgreSQL in every run.
e2e-postgres: release
	.ci/throwaway-postgres.sh bash -c 'cd end2end && PARLEY_E2E_DATABASE_URL="$$DATABASE_URL" npx playwright test'

# Benchmarks (docs/BENCHMARKS.md). The load generator gets its own target directory: a bench build
# re-links this crate's binaries with dev-dependency features, which would overwrite the
# cargo-leptos build of target/release/parley that it measures.
.PHONY: bench bench-smoke bench-page-load

## bench: run the load generator against the release build (SCENARIOS=fanout BENCH_ARGS='--rate 3000')
bench: release
	CARGO_TARGET_DIR=target/loadgen cargo bench --features ssr --bench loadgen -- $(or $(SCENARIOS),all) $(BENCH_ARGS)

## bench-smoke: every benchmark scenario at a tiny size; fails on any error, never on slowness
bench-smoke: release
	cargo bench --profile dev --features ssr --bench loadgen -- smoke

## bench-page-load: a real Chromium on an emulated slow network (400 kbit/s, 400 ms), empty cache:
## how long the conversation page and the inbox take to become usable (PAGE_LOAD_RUNS, default 3),
## served straight from the node (HTTP/1.1) and then behind nginx with TLS and HTTP/2, as deployed
bench-page-load: release
	cd end2end && PAGE_LOAD_VIA=direct npx playwright test --config page-load.config.ts
	cd end2end && PAGE_LOAD_VIA=tls-proxy npx playwright test --config page-load.config.ts

## screenshots: the pictures in docs/screenshots, from a real run of the release build
screenshots: release
	cd end2end && npx playwright test --config screenshots.config.ts
