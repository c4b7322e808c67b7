# Shiftgate — run `make` for the list of targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO       ?= go
BIN      := bin
DEMO_DIR ?= var/demo
DEMO_ADDR ?= 127.0.0.1:8443
BENCH_COUNT ?= 5
FUZZTIME ?= 20s
# How long the fuzzer may shrink each new interesting input. Go's default,
# a minute, stalls every worker of a target whose inputs are slow to
# shrink (hub/scim's filter parser found 4 new inputs in 40 s with it, 28
# with 2 s): the search stops while it minimizes.
FUZZMINTIME ?= 2s

# Debian packages the build and the tests need: a C toolchain for cgo
# (mattn/go-sqlite3), libfido2 for hardware keys (build tag fido2), the X11
# and GL headers Fyne's window driver builds against (shiftgate-kiosk),
# curl for the demo's copy-paste commands, chromium for the web console's
# browser tests (hub/console/e2e), and an X server with screenshot and
# keyboard tools for the real kiosk window in make test and make
# kiosk-screens (ui/cmd/shiftgate-kiosk TestKioskUnderXvfb).
APT_PACKAGES := gcc libc6-dev pkg-config libfido2-dev curl ca-certificates chromium \
	libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev \
	xvfb xauth imagemagick xdotool

BINARIES := hub/cmd/shiftgate-hub agent/cmd/shiftgate-agent agent/cmd/shiftgate-sim ui/cmd/shiftgate-kiosk

.PHONY: help deps build test demo bench bench-go bench-sim kiosk-screens lint fmt fuzz clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## install the Debian packages the build needs (skipped when present)
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  if [ -n "$$sudo" ] && ! command -v sudo > /dev/null; then \
	    echo "deps: missing$$missing, and there is no sudo: run make deps as root, or as root:"; \
	    echo "  apt-get update && apt-get install -y --no-install-recommends$$missing"; exit 1; \
	  fi; \
	  echo "deps: installing$$missing"; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all system packages present"; fi

build: deps ## build every binary into bin/
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./,$(BINARIES))

test: deps ## vet and run every test with the race detector
	$(GO) vet ./...
	$(GO) vet -tags fido2 ./agent/...
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -race -count=1 -tags fido2 ./agent/...

demo: build ## walk through joiner, mover, leaver on a demo hub; with a display, also open the kiosk (--demo)
	@if [ -e $(DEMO_DIR)/hub.lock ] && ! flock -n $(DEMO_DIR)/hub.lock true; then \
	  echo "demo: a demo hub is running on $(DEMO_DIR): stop it (Ctrl-C) first, or use DEMO_DIR=var/demo2 DEMO_ADDR=127.0.0.1:9443"; exit 1; fi
	@rm -rf $(DEMO_DIR); mkdir -p var
	@set -uo pipefail; kiosk=""; \
	if [ -n "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
	  $(BIN)/shiftgate-kiosk --demo > var/kiosk-demo.log 2>&1 & kiosk=$$!; \
	  echo "==> The kiosk window (shiftgate-kiosk --demo, its own demo hub) is open: tap a badge, or Tab and Enter."; \
	  echo "    Its hub address, admin token and example commands: var/kiosk-demo.log"; \
	else \
	  echo "==> No display (DISPLAY, WAYLAND_DISPLAY): on a desktop, run $(BIN)/shiftgate-kiosk --demo to try the kiosk screen,"; \
	  echo "    or see it under Xvfb: make kiosk-screens"; \
	fi; \
	trap '[ -n "$$kiosk" ] && kill $$kiosk 2>/dev/null; wait' EXIT; \
	$(BIN)/shiftgate-hub demo --data $(DEMO_DIR) --listen $(DEMO_ADDR)

bench: bench-go bench-sim ## all benchmarks: Go benchmarks, then the kiosk simulator

SIM_KIOSKS ?= 10000
SIM_PORT   ?= 18443

bench-go: deps ## Go benchmarks: store, SCIM over HTTPS, kiosk logins, fan-out, revoke to locked screen (BENCH_COUNT runs each)
	@mkdir -p var
	$(GO) test -run '^$$' -bench . -benchtime 2s -count $(BENCH_COUNT) ./hub/store/sqlite/ ./hub/ ./hub/authn/ ./hub/scim/ ./hub/push/ ./ui/ | tee var/bench-go.txt

bench-sim: deps ## shiftgate-sim on a fresh hub: logins (64 kiosks), leaver and mass revoke (SIM_KIOSKS kiosks), the floor, then the targets
	@mkdir -p $(BIN) var
	$(GO) build -o $(BIN)/ ./hub/cmd/shiftgate-hub ./agent/cmd/shiftgate-sim
	@set -euo pipefail; tmp=$$(mktemp -d); : > var/bench-sim.txt; rm -f var/bench-sim-*.json; \
	$(BIN)/shiftgate-hub serve --data $$tmp/data --listen 127.0.0.1:$(SIM_PORT) --log-level warn 2> $$tmp/hub.log & hub=$$!; \
	trap 'kill $$hub 2>/dev/null; wait $$hub 2>/dev/null; rm -rf $$tmp' EXIT; \
	for i in $$(seq 100); do [ -s $$tmp/data/ca.pem ] && curl -sf --cacert $$tmp/data/ca.pem https://localhost:$(SIM_PORT)/healthz > /dev/null && break; sleep 0.1; done; \
	export SHIFTGATE_ADMIN_TOKEN=$$($(BIN)/shiftgate-hub token create --data $$tmp/data --name bench-sim-admin --scope admin); \
	export SHIFTGATE_SCIM_TOKEN=$$($(BIN)/shiftgate-hub token create --data $$tmp/data --name bench-sim-scim --scope scim); \
	args="--hub https://localhost:$(SIM_PORT) --ca $$tmp/data/ca.pem --state $$tmp/state --hub-pid $$hub"; \
	$(BIN)/shiftgate-sim logins $$args --kiosks 64 --concurrency 64 --duration 5s --json-out var/bench-sim-logins.json | tee -a var/bench-sim.txt; \
	$(BIN)/shiftgate-sim leaver $$args --kiosks $(SIM_KIOSKS) --rounds 100 --sessions 2 --json-out var/bench-sim-leaver.json | tee -a var/bench-sim.txt; \
	$(BIN)/shiftgate-sim mass-revoke $$args --kiosks $(SIM_KIOSKS) --rounds 5 --json-out var/bench-sim-mass-revoke.json | tee -a var/bench-sim.txt; \
	$(BIN)/shiftgate-sim floor --kiosks $(SIM_KIOSKS) --rounds 5 --json-out var/bench-sim-floor.json | tee -a var/bench-sim.txt; \
	$(BIN)/shiftgate-sim targets var/bench-sim-*.json | tee -a var/bench-sim.txt

KIOSK_PORT ?= 18743

kiosk-screens: build ## run the real kiosk window under Xvfb against a demo hub; screenshots in var/
	@set -euo pipefail; mkdir -p var; tmp=$$(mktemp -d); \
	$(BIN)/shiftgate-hub demo --data $$tmp/hub --listen 127.0.0.1:$(KIOSK_PORT) --exit > $$tmp/demo.log 2>&1; \
	$(BIN)/shiftgate-hub serve --data $$tmp/hub --listen 127.0.0.1:$(KIOSK_PORT) --log-level warn 2> $$tmp/hub.log & hub=$$!; \
	trap 'kill $$hub 2>/dev/null; wait $$hub 2>/dev/null; rm -rf $$tmp' EXIT; \
	for i in $$(seq 100); do curl -sf --cacert $$tmp/hub/ca.pem https://localhost:$(KIOSK_PORT)/healthz > /dev/null && break; sleep 0.1; done; \
	xvfb-run -a -s "-screen 0 1280x800x24" env LANG=en_US.UTF-8 bash -c "\
	  $(BIN)/shiftgate-kiosk --state $$tmp/hub/kiosks/south-ward-1 --authenticator soft:$$tmp/hub/badges --badges dana --fullscreen --exit-after 7s 2> var/kiosk.log & k=\$$!; \
	  sleep 2.5; import -window root var/kiosk-locked.png; xdotool key Tab key Return; sleep 2; import -window root var/kiosk-refused.png; wait \$$k"
	@echo "screenshots: var/kiosk-locked.png var/kiosk-refused.png"

lint: ## gofmt, go vet
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt: ## format the code
	gofmt -w .

# With the fido2 tag, as make test builds agent/: the libfido2 code's
# parser (FuzzDecodeAuthData) is fuzzed too. It changes nothing elsewhere.
fuzz: deps ## run each fuzz target for FUZZTIME (each new input shrunk for FUZZMINTIME at most)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -tags fido2 -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -tags fido2 -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg || exit 1; \
	  done; \
	done

clean: ## remove build output and demo data
	rm -rf $(BIN) var
