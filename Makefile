# Two entry points: `make run` starts a gateway on the embedded default config,
# `make test` runs every check CI runs. Both install what is missing first.
SHELL := /bin/bash
CACHE_DIR ?= $(HOME)/.cache/spangate
# Outside the clone, so builds and CI's fresh clones share compiled RocksDB.
export CARGO_TARGET_DIR ?= $(CACHE_DIR)/target
VENV ?= $(CACHE_DIR)/venv
export SPANGATE_PYTHON ?= $(VENV)/bin/python
CARGO ?= cargo

.PHONY: run test setup browser venv clients toolchains plugin-sdks build release install lint fmt bench bench-trace-view fuzz fuzz-smoke

setup:
	@scripts/setup.sh

## Headless Chromium and chromedriver for the trace view's browser tests and bench; only
## `make test` and `make bench-trace-view` install them, so `make run` stays light.
browser:
	@scripts/setup-browser.sh

venv:
	@scripts/python-venv.sh "$(VENV)" examples/python-app/requirements.txt

## The Jaeger and Zipkin clients (Python venvs, npm packages) of tests/clients/.
clients:
	@SPANGATE_CACHE=$(CACHE_DIR) scripts/test-clients.sh

## Plugin toolchains for Python (componentize-py), JavaScript (componentize-js) and C
## (clang-19 + wit-bindgen), under $(CACHE_DIR)/toolchains; fast when installed.
toolchains:
	@SPANGATE_CACHE=$(CACHE_DIR) scripts/toolchain-python.sh
	@SPANGATE_CACHE=$(CACHE_DIR) scripts/toolchain-js.sh
	@SPANGATE_CACHE=$(CACHE_DIR) scripts/toolchain-c.sh

## The Python, JavaScript and C SDKs' own tests and their reference plugins' native
## tests (the components themselves are tested through the gateway by `cargo test`).
PY_TOOLS = $(CACHE_DIR)/toolchains/python/bin
plugin-sdks: toolchains
	cd sdk/python && $(PY_TOOLS)/pytest -q
	cd examples/python-plugin && $(PY_TOOLS)/pytest -q
	cd sdk/js && node --test test/
	cd examples/js-plugin && npm install --no-audit --no-fund --silent && node --test
	$(MAKE) -C sdk/c test glue-test
	$(MAKE) -C examples/c-plugin test

build: setup
	$(CARGO) build -p spangate

release: setup
	$(CARGO) build --release -p spangate -p spangate-loadgen

## Put `spangate` on PATH: the release build copied to $(PREFIX)/bin (default
## ~/.local/bin; `make install PREFIX=/usr/local` with sudo for every user).
PREFIX ?= $(HOME)/.local
install: release
	@scripts/install.sh $(CARGO_TARGET_DIR)/release/spangate $(PREFIX)

## Start the gateway: OTLP gRPC 127.0.0.1:4317, OTLP HTTP 127.0.0.1:4318, Tempo API 127.0.0.1:3200,
## data in ./data. Pass CONFIG=path/to/spangate.yaml to use a config file.
run: release
	$(CARGO_TARGET_DIR)/release/spangate $(if $(CONFIG),--config $(CONFIG))

# Lint, build and test select the same packages (the whole workspace, tests and benches
# included) so cargo resolves the same dependency features each time and builds RocksDB's
# C++ and wasmtime once: a narrower selection (`-p spangate`) activates other features in
# shared build-dependencies and rebuilds both from scratch.
WORKSPACE := --workspace --all-targets

lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy $(WORKSPACE) -- -D warnings

fmt:
	$(CARGO) fmt --all

## Everything CI checks: formatting, lints, unit, property and end-to-end tests, and a
## short run of every fuzz target (after the build, whose RocksDB the fuzz build links).
## The build step makes every test target and the `spangate` binary the end-to-end
## tests start (SPANGATE_BIN) with the features of this same selection; `cargo test`
## alone would not build the binary (the gateway package has no integration tests).
test: setup browser venv clients toolchains lint plugin-sdks
	$(CARGO) build $(WORKSPACE)
	SPANGATE_BIN=$(CARGO_TARGET_DIR)/debug/spangate SPANGATE_CACHE=$(CACHE_DIR) \
		$(CARGO) test --workspace --no-fail-fast
	SPANGATE_CACHE=$(CACHE_DIR) scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS)

## The ingest and trace-by-id benchmark recorded in BENCHMARKS.md.
bench: release
	scripts/bench.sh

## The trace view in headless Chromium (first paint, a 10,000-span trace, scrolling),
## recorded in BENCHMARKS.md.
bench-trace-view: release browser
	scripts/bench-trace-view.sh

## Fuzzing (libFuzzer via cargo-fuzz, targets in fuzz/): every target for FUZZ_SECONDS
## each (`make fuzz FUZZ_TARGETS="traceql otlp_json"` for some); `fuzz-smoke` runs each
## briefly (`make test` does). The build reuses the main build's RocksDB (scripts/fuzz.sh).
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20
fuzz: setup
	SPANGATE_CACHE=$(CACHE_DIR) scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: setup
	SPANGATE_CACHE=$(CACHE_DIR) scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)
