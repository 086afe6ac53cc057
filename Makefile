# stegvis: `make run` starts everything on this machine, `make test` checks everything.

# Never download another Go toolchain: go.mod pins what this machine's Go builds.
export GOTOOLCHAIN := local

BIN := bin/stegvis
GO_FILES := $(shell find . -name '*.go' -not -path './.data/*')

.PHONY: run build test test-go fuzz fuzz-short lint vet staticcheck workflowcheck fmt fmt-check histories clean help bench bench-small

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: build ## run everything in one process: Temporal + Web UI + worker + API (stegvis dev)
	@./$(BIN) dev

build: $(BIN) ## build bin/stegvis

$(BIN): $(GO_FILES) go.mod go.sum $(shell find . -name '*.sql' -o -name '*.yaml' | grep -v '^./.data')
	go build -o $(BIN) ./cmd/stegvis

test: lint test-go fuzz-short bench-small deploy-check alerts-check ## everything CI runs: formatting, vet, staticcheck, workflowcheck, all tests, a short fuzz, the small benchmark, the deploy files, the alert rules

# deploy/tools is a Go module of its own, so that helm, kubeconform and compose-go do not
# move the versions of this module's dependencies. Its tests load deploy/compose with
# compose-go, render deploy/helm with helm and validate the result with kubeconform
# -strict against schemas made from the Kubernetes OpenAPI document (see
# deploy/tools/deploycheck). The first run builds helm (minutes, so before the tests and
# their timeout start); later runs take seconds.
.PHONY: deploy-check
deploy-check: ## validate the Compose file and the Helm chart
	cd deploy/tools && go tool -n helm >/dev/null && go tool -n kubeconform >/dev/null
	cd deploy/tools && go test -count=1 -v ./...

# The Prometheus alert rules: promtool (Debian's prometheus package; .ci/run installs it)
# checks them and runs their unit tests, which say when each alert fires and when not.
# metrics.TestDashboardAndRulesUseOnlyContractMetrics (in test-go) holds the rules and the
# Grafana dashboard to the metric names stegvis defines.
.PHONY: alerts-check
alerts-check: ## check the Prometheus alert rules and run their unit tests with promtool
	@command -v promtool >/dev/null || { echo "promtool is missing: apt-get install --no-install-recommends prometheus (Debian ships promtool in it), or run .ci/run"; exit 1; }
	promtool check rules deploy/prometheus/stegvis-rules.yaml
	cd deploy/prometheus && promtool test rules stegvis-rules.test.yaml

# The browser tests (web/*browser_test.go) save screenshots of each step here, and of
# the page a failing test was on. Without Chromium they skip, except when CI is set.
BROWSER_ARTIFACTS ?= $(CURDIR)/test-artifacts/browser
export BROWSER_ARTIFACTS

# The production-topology test (e2e/) waits out its demo programme's five minutes, so the
# timeout is above go test's default ten minutes per package.
test-go: ## all Go tests: unit, workflow (time-skipping), replay, API against real Temporal and PostgreSQL, browser (Chromium), smoke, production topology (e2e)
	go test -count=1 -timeout 20m ./... || { echo "browser test screenshots: $(BROWSER_ARTIFACTS)"; exit 1; }
	@echo "browser test screenshots: $(BROWSER_ARTIFACTS)"

# Each fuzz target for FUZZTIME (go test -fuzz takes one package and one target a run).
# Inputs that fail land in <package>/testdata/fuzz/<target>/: commit them, they become
# regression tests that every plain go test runs. The API's seeds include bodies over the
# 64 KiB limit; minimising such an input would take the whole minute, so it is capped.
FUZZTIME ?= 1m

fuzz: ## run each fuzz target for FUZZTIME (default 1m): make fuzz FUZZTIME=10m
	go test ./program -run '^$$' -fuzz '^FuzzParseSpan$$' -fuzztime $(FUZZTIME)
	go test ./program -run '^$$' -fuzz '^FuzzParseProgram$$' -fuzztime $(FUZZTIME)
	go test ./api -run '^$$' -fuzz '^FuzzDecodeJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s

fuzz-short: ## run each fuzz target for 5s (part of make test)
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5s

lint: fmt-check vet staticcheck workflowcheck ## static checks

vet:
	go vet ./...

staticcheck:
	go tool staticcheck ./...

workflowcheck: ## catch non-deterministic calls in workflow code
	go tool workflowcheck ./workflows/...

fmt: ## format the code
	gofmt -w $(GO_FILES)

fmt-check:
	@out=$$(gofmt -l $(GO_FILES)); if [ -n "$$out" ]; then echo "not gofmt-ed (run make fmt):"; echo "$$out"; exit 1; fi

histories: ## record workflow histories for the replay test (after a released change to workflow code)
	go test ./workflows -run TestRecordHistories -record-histories -count=1 -v

clean: ## remove the binary (not .data: that is your journeys)
	rm -rf bin

# The benchmarks of issue 7 (bench/, BENCHMARKS.md): stegvis next to raw Temporal in
# one run, on the embedded dev server and a fresh PostgreSQL database (dropped after).
BENCH_FLAGS ?=

bench: ## the full benchmark: prints a table, writes bench/results/<date>.json (minutes)
	go run ./bench $(BENCH_FLAGS)

bench-small: ## the small benchmark (part of make test): fails only on errors, never on timings
	@out=$$(mktemp -t stegvis-bench-XXXXXX.json) && go run ./bench -small -out $$out && rm -f $$out
