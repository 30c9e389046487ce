# Quick start: `make demo` (install, generate the bundled sample, run everything), `make test`.
# Tests: `make test` runs the whole suite (unit + integration, as CI does: .ci/run); `make test-quick`
# only the unit tests (`-m unit`: pure core, no Dagster run, service, journal tool or CLI subprocess;
# under a minute on 2 cores). iptables_assets_tests/conftest.py marks every test one or the other.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/dagster_home
# One "planned" event per asset for a single-run backfill, not one per partition (docs/operations.md, Backfills).
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS ?= 1
SAMPLE := data/sample_logs
OUT := data/out

.PHONY: install demo sample run test test-quick ui bench bench-parse clean

$(BIN)/iptables-assets: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/iptables-assets

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $@

sample: install
	@test -f $(SAMPLE)/ground_truth.json || $(BIN)/iptables-assets generate --out $(SAMPLE)

run: install sample $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/iptables-assets run --logs $(SAMPLE) --out $(OUT)

demo: run

# XDIST: pytest-xdist workers. The three dagster dev tests mostly wait on the daemon's ticks: they
# start first, one per worker, while the other two compute (the Celery test first: its workers use
# the cores they leave); then all five share the rest, integration tests before unit tests
# (conftest.py orders them; --no-loadscope-reorder keeps that order).
XDIST ?= 5
test: install
	$(BIN)/python -m pytest -n $(XDIST) --dist loadgroup --no-loadscope-reorder -q

# The unit tests alone all compute: three workers on 2 cores (five would only oversubscribe them).
QUICK_XDIST ?= 3
test-quick: install
	$(BIN)/python -m pytest -n $(QUICK_XDIST) --dist loadgroup --no-loadscope-reorder -q -m unit

# Run from inside $(DAGSTER_HOME) (its dagster.yaml is the repo's, copied): started from the repo
# root, dagster dev warns that ./dagster.yaml "will not be used". Planned events per partition
# (Dagster's default): automation must see which days a running job is writing (docs/operations.md, Backfills).
ui: install sample $(DAGSTER_HOME)/dagster.yaml
	cd $(DAGSTER_HOME) && IPTABLES_ASSETS_LOG_DIR=$(CURDIR)/$(SAMPLE) IPTABLES_ASSETS_OUT_DIR=$(CURDIR)/$(OUT) \
	  DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=0 \
	  $(CURDIR)/$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w $(CURDIR)/workspace.yaml

# The side-by-side (issue 14): rewrites docs/performance.md's performance tables. A part alone, or smaller:
# make bench BENCH_ARGS='--parts parse,peers' (see benchmarks/README.md).
bench: install
	$(BIN)/python benchmarks/side_by_side.py --runs 3 --write docs/performance.md $(BENCH_ARGS)

bench-parse: install
	$(BIN)/python benchmarks/parse_benchmark.py --runs 3

clean:
	rm -rf data $(DAGSTER_HOME)/* .pytest_cache
