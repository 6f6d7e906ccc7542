# microvm: a local daemon that gives Velocitty a small Linux guest with a
# SOCKS5 proxy, optionally behind an OpenVPN tunnel only that proxy uses.
#
# `make run` starts the daemon; `make test` runs every check and test.
# Both install what they need on a fresh Debian machine (as root).

SHELL        := /bin/bash
GO           ?= go
BIN          := bin
VERSION      ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# The agent's version is a hash of its sources, so the daemon redeploys
# the agent into an existing guest exactly when the binary changed.
AGENT_VERSION := $(shell sh guest/agent-version.sh)
AGENT_PKG    := github.com/velocitty/microvm/guest/agentapi
DAEMON_PKG   := github.com/velocitty/microvm/internal/version
LDFLAGS_AGENT = -s -w -X $(AGENT_PKG).Version=$(AGENT_VERSION)
LDFLAGS_API   = -s -w -X $(AGENT_PKG).Version=$(AGENT_VERSION) -X $(DAEMON_PKG).Version=$(VERSION)
IMAGE        := $(BIN)/microvm-guest.tar.gz
DATA_DIR     ?=
LISTEN       ?= 127.0.0.1:8421
GOTEST_FLAGS ?= -race -count=1 -timeout 20m

.DEFAULT_GOAL := help

.PHONY: help
help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## install the Debian packages the daemon and the tests need (root)
	@scripts/deps.sh

.PHONY: build
build: $(BIN)/microvm-api $(BIN)/microvm-agent ## build the daemon and the guest agent

.PHONY: $(BIN)/microvm-api $(BIN)/microvm-agent
$(BIN)/microvm-api:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS_API)" -o $@ ./cmd/microvm-api

$(BIN)/microvm-agent:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "$(LDFLAGS_AGENT)" -o $@ ./guest/cmd/microvm-agent

.PHONY: agent-arm64
agent-arm64: ## cross-build the agent for linux/arm64 (Windows on Arm runs WSL2 too)
	@mkdir -p $(BIN)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags "$(LDFLAGS_AGENT)" -o $(BIN)/microvm-agent-arm64 ./guest/cmd/microvm-agent

.PHONY: guest-image
guest-image: $(BIN)/microvm-agent ## build the guest rootfs image (cached; needs root and mmdebstrap)
	guest/image/build.sh $(BIN)/microvm-agent $(IMAGE)

.PHONY: run
run: deps build guest-image ## start the daemon (Ctrl-C stops it; guests keep running)
	$(BIN)/microvm-api serve --listen $(LISTEN) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

.PHONY: generate
generate: ## regenerate the API code from api/openapi.yaml
	$(GO) generate ./api/...

.PHONY: check-generated
check-generated: generate ## fail when the committed generated code is stale
	@git diff --exit-code -- api server client || { echo "generated code is stale: run 'make generate' and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- api server client | grep '\.gen\.go')" || { echo "untracked generated files: run 'make generate' and commit" >&2; exit 1; }

.PHONY: web
web: ## rebuild web/vendor from web/package-lock.json (needs node and npm)
	sh web/build.sh

.PHONY: check-web
check-web: web ## fail when the vendored browser assets differ from the lock file's packages
	@git diff --exit-code -- web/vendor || { echo "web/vendor is stale: run 'make web' and commit" >&2; exit 1; }

.PHONY: lint
lint: ## gofmt, go vet (Linux and Windows) and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt" >&2; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e,bench ./e2e/ ./bench/
	GOOS=windows $(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags e2e,bench ./e2e/ ./bench/

.PHONY: windows
windows: ## cross-compile the daemon and compile every test for Windows
	GOOS=windows $(GO) build ./...
	GOOS=windows $(GO) test -count=1 -exec=true ./... > /dev/null

.PHONY: unit
unit: build ## unit and root integration tests with the race detector
	MICROVM_TEST_AGENT=$(CURDIR)/$(BIN)/microvm-agent $(GO) test $(GOTEST_FLAGS) ./...

.PHONY: fuzz
fuzz: ## run each fuzz target briefly (FUZZTIME, default 5s)
	@scripts/fuzz.sh $(or $(FUZZTIME),5s)

.PHONY: wslemu
wslemu: ## build the wsl.exe emulator the WSL tests run against (test infrastructure, never shipped)
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -o $(BIN)/wslemu ./wsl/wslemu/cmd/wslemu

.PHONY: e2e
e2e: build guest-image wslemu ## end-to-end tests: real daemon, real guests, driven through the client and curl
	@mkdir -p e2e/artifacts
	MICROVM_E2E_BIN=$(CURDIR)/$(BIN) MICROVM_TEST_IMAGE=$(CURDIR)/$(IMAGE) MICROVM_TEST_AGENT=$(CURDIR)/$(BIN)/microvm-agent \
		$(GO) test -tags e2e -count=1 -timeout 30m -v ./e2e/... 2>&1 | tee e2e/artifacts/e2e.log; exit $${PIPESTATUS[0]}

.PHONY: test
test: deps lint check-generated windows agent-arm64 unit fuzz e2e bench-check ## everything CI runs

.PHONY: soak
soak: build guest-image wslemu ## reliability suite with its load held for SOAK (default 5m); writes bench/reliability.md (root)
	@mkdir -p e2e/artifacts
	MICROVM_SOAK=$(or $(SOAK),5m) MICROVM_E2E_BIN=$(CURDIR)/$(BIN) MICROVM_TEST_IMAGE=$(CURDIR)/$(IMAGE) MICROVM_TEST_AGENT=$(CURDIR)/$(BIN)/microvm-agent \
		$(GO) test -tags e2e -count=1 -timeout 90m -v -run 'TestLoad|TestFault|TestHostile|TestVPN' ./e2e/ 2>&1 | tee e2e/artifacts/soak.log; exit $${PIPESTATUS[0]}
	cp e2e/artifacts/reliability.md bench/reliability.md

.PHONY: bench
bench: build guest-image ## measure everything against baselines and peers; writes bench/report.{md,json,svg} (root)
	MICROVM_BENCH_BIN=$(CURDIR)/$(BIN) $(GO) test -tags bench -count=1 -v -run TestReport -timeout 60m ./bench/

.PHONY: bench-check
bench-check: build guest-image ## run the benchmark report in its short form, to keep it working (root)
	@mkdir -p e2e/artifacts/bench
	MICROVM_BENCH_BIN=$(CURDIR)/$(BIN) MICROVM_BENCH_OUT=$(CURDIR)/e2e/artifacts/bench \
		$(GO) test -tags bench -short -count=1 -run TestReport -timeout 10m ./bench/

.PHONY: bench-go
bench-go: build ## the per-package Go benchmarks and the REST comparison script
	$(GO) test -run '^$$' -bench . -benchtime 3s ./server/
	MICROVM_BENCH=1 $(GO) test -count=1 -v -run Perf ./guest/perf/
	$(GO) test -run '^$$' -bench . -benchtime 10x ./guest/vpn/
	bench/rest.sh 5 10s

.PHONY: clean
clean: ## remove build outputs (not the image cache)
	rm -rf $(BIN)/microvm-api $(BIN)/microvm-agent $(BIN)/microvm-agent-arm64 $(BIN)/wslemu

.PHONY: distclean
distclean: clean ## also remove the guest image and its package cache
	rm -rf $(BIN)/guest-cache $(IMAGE) $(IMAGE).stamp
