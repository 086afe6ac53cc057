# stegvis: `make run` starts everything on this machine, `make test` checks everything.

# Never download another Go toolchain: go.mod pins what this machine's Go builds.
export GOTOOLCHAIN := local

BIN := bin/stegvis
GO_FILES := $(shell find . -name '*.go' -not -path './.data/*')

.PHONY: run build test test-go lint vet staticcheck workflowcheck fmt fmt-check histories clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: build ## run everything in one process: Temporal + Web UI + worker + API (stegvis dev)
	@./$(BIN) dev

build: $(BIN) ## build bin/stegvis

$(BIN): $(GO_FILES) go.mod go.sum $(shell find . -name '*.sql' -o -name '*.yaml' | grep -v '^./.data')
	go build -o $(BIN) ./cmd/stegvis

test: lint test-go ## everything CI runs: formatting, vet, staticcheck, workflowcheck and all tests

test-go: ## all Go tests: unit, workflow (time-skipping), replay, API against real Temporal and PostgreSQL, smoke
	go test -count=1 ./...

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
