# The two commands a newcomer needs (README.md): `make run` and `make test`.
# Both first run .ci/install-tools.sh, which installs whatever this machine lacks.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

# Where `make run` listens and keeps its data (override on the command line or in the environment).
LEPTOS_SITE_ADDR ?= 127.0.0.1:3000
DATABASE_URL ?= sqlite://data/parley.db
export LEPTOS_SITE_ADDR DATABASE_URL

.PHONY: run test tools release lint unit e2e

## run: build the release build and serve it on the SQLite default
run: release
	LEPTOS_SITE_ROOT=target/site ./target/release/parley

## test: everything CI checks: formatting, clippy on both builds, unit + integration tests, Playwright
test: tools lint unit release e2e

tools:
	@bash .ci/install-tools.sh

release: tools
	cargo leptos build --release

lint:
	cargo fmt --check
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

unit:
	cargo test --features ssr

# Runs against the release build (what users get), on a temporary database; see end2end/playwright.config.ts.
e2e:
	cd end2end && npx playwright test
