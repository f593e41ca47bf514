# BoxOffice: the two commands are `make run` and `make test`. Everything they need is installed,
# pinned, into .local/ (git-ignored) on first use and reused afterwards.
SHELL := /bin/bash
PORT ?= 3000
CARGO ?= cargo

.PHONY: help tools run test lint build bench soak clean

help:
	@echo "make run    the whole system on http://127.0.0.1:$(PORT) (PORT=... to change), Ctrl-C stops it"
	@echo "make test   the whole suite against private emulators on free ports, then the"
	@echo "            contract suite (schemathesis, openapi.yaml) against the local gateway"
	@echo "make lint   cargo fmt --check, clippy -D warnings, cfn-lint template.yaml"
	@echo "make build  sam build of the arm64 bootstrap every function runs, then checks each artifact"
	@echo "            (installs cargo-lambda and aws-sam-cli into .local/build-venv)"
	@echo "make bench  the benchmark (bench-fast build), writes bench/results/latest.md and latency.svg"
	@echo "            (with a Node/PostgreSQL/Redis service side by side; BENCH_COMPARE=off skips it)"
	@echo "make soak   the long history run: >= 100,000 random operations under every fault kind,"
	@echo "            checked against the invariants (SOAK_OPERATIONS=, SOAK_SEED= to change)"

tools:
	@infra/stack.sh install

run: tools
	$(CARGO) build -p boxoffice-local
	PORT=$(PORT) infra/with-stack.sh target/debug/boxoffice-local

# The cargo suite, then the contract suite (schemathesis: the local gateway against openapi.yaml),
# each on a fresh stack.
test: tools
	$(CARGO) build -p boxoffice-local
	infra/with-stack.sh $(CARGO) test --workspace
	infra/with-stack.sh infra/contract.sh

lint: tools
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	.local/venv/bin/cfn-lint template.yaml

# sam build compiles the one multi-call binary (bootstrap/, arm64, cargo-lambda) once and copies it
# into every function's artifact; then each artifact is checked to be an aarch64 executable.
build:
	infra/stack.sh install-build-tools
	PATH="$(CURDIR)/.local/build-venv/bin:$$PATH" sam validate --lint
	PATH="$(CURDIR)/.local/build-venv/bin:$$PATH" CARGO_TARGET_DIR="$(CURDIR)/target/lambda" sam build
	infra/check-artifacts.sh

# One cargo invocation builds the bench, the hello-world floor and every function binary (one
# feature resolution, so shared dependencies compile once), while the emulators and the comparison's
# tools install alongside (downloads, mostly); each phase's wall time goes into the report.
# The side-by-side Node/PostgreSQL/Redis service (bench/compare/) runs beside the emulators;
# BENCH_COMPARE=off skips it (and its install).
bench:
	@set -euo pipefail; \
	export BENCH_T0=$$(date +%s%N); \
	tools_done=$$(mktemp); \
	( infra/stack.sh install; \
	  if [ "$${BENCH_COMPARE:-on}" != off ]; then \
	    infra/stack.sh install-compare-tools || echo "[bench] PostgreSQL/Redis/Node packages not installed: the side-by-side section says why not" >&2; \
	  fi; \
	  date +%s%N >"$$tools_done" ) & tools=$$!; \
	$(CARGO) build --profile bench-fast --workspace --bins --exclude boxoffice-local --exclude boxoffice-tests --exclude boxoffice-bootstrap || \
	  { wait $$tools || true; rm -f "$$tools_done"; exit 1; }; \
	export BENCH_T1=$$(date +%s%N); \
	wait $$tools || { rm -f "$$tools_done"; echo "[bench] infra/stack.sh install failed" >&2; exit 1; }; \
	export BENCH_TT=$$(cat "$$tools_done"); rm -f "$$tools_done"; \
	export BENCH_T2=$$(date +%s%N); \
	BOXOFFICE_METRICS=off infra/with-stack.sh bench/compare/with-compare.sh target/bench-fast/boxoffice-bench; \
	echo "[bench] make bench took $$(( ($$(date +%s%N) - BENCH_T0) / 1000000000 )) s"

# The long history run (tests/src/bin/history_soak.rs): fresh stacks, histories of 10,000 random
# operations under every fault kind until SOAK_OPERATIONS (100,000) are done, each checked.
soak: tools
	$(CARGO) build -p boxoffice-tests --bin history-soak
	infra/with-stack.sh target/debug/history-soak
	infra/with-stack.sh $(CARGO) test -p boxoffice-tests --test it -- --ignored --nocapture show_cancellation

clean:
	rm -rf .aws-sam
