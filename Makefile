# Shiftgate — run `make` for the list of targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO       ?= go
BIN      := bin
DEMO_DIR ?= var/demo
DEMO_ADDR ?= 127.0.0.1:8443
BENCH_COUNT ?= 5
FUZZTIME ?= 20s

# Debian packages the build and the tests need: a C toolchain for cgo
# (mattn/go-sqlite3), libfido2 for hardware keys (build tag fido2), curl for
# the demo's copy-paste commands.
APT_PACKAGES := gcc libc6-dev pkg-config libfido2-dev curl ca-certificates

BINARIES := hub/cmd/shiftgate-hub agent/cmd/shiftgate-agent

.PHONY: help deps build test demo bench lint fmt fuzz clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## install the Debian packages the build needs (skipped when present)
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "deps: installing$$missing"; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all system packages present"; fi

build: deps ## build every binary into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./,$(BINARIES))

test: deps ## vet and run every test with the race detector
	$(GO) vet ./...
	$(GO) vet -tags fido2 ./agent/...
	$(GO) test -race -timeout 20m ./...
	$(GO) test -race -tags fido2 ./agent/...

demo: build ## start a hub with a demo organisation and walk through joiner, mover, leaver
	@rm -rf $(DEMO_DIR)
	$(BIN)/shiftgate-hub demo --data $(DEMO_DIR) --listen $(DEMO_ADDR)

bench: deps ## benchmarks: store, SCIM over HTTPS (medians of BENCH_COUNT runs)
	$(GO) test -run '^$$' -bench . -benchtime 2s -count $(BENCH_COUNT) ./hub/store/sqlite/ ./hub/ | tee var/bench.txt 2>/dev/null || true

lint: ## gofmt, go vet
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt: ## format the code
	gofmt -w .

fuzz: ## run each fuzz target for FUZZTIME
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean: ## remove build output and demo data
	rm -rf $(BIN) var
