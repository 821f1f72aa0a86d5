# sigpool — build, test and demo. `make test` and `make demo` install what
# they need (apt-get as root on Debian/Ubuntu) and say what to install
# elsewhere.

GO      ?= go
SIGLAB  := bin/siglab
# Packages with kernel-SCTP tests: files *_lab_test.go built with tag "lab".
LAB_PKGS = $(shell grep -rl --include='*_lab_test.go' '^//go:build lab' . | xargs -r -n1 dirname | sort -u)
LAB_TEST_FLAGS ?= -test.run '^(TestLab|ExampleLab)' -test.v -test.timeout 20m

.PHONY: all build check-go host-deps setup vet unit lab-test test demo bench clean

all: build

check-go:
	@command -v $(GO) >/dev/null || { echo "make: Go is missing: install Go 1.26 or newer (https://go.dev/dl) and put it on PATH"; exit 1; }

# Host tools the tests need, as command:Debian-package: gcc for the race
# detector (cgo), xz to unpack the lab kernel for its faster boot, chromium
# for the browser test of the management page.
HOST_TOOLS = gcc:gcc xz:xz-utils chromium:chromium
host-deps:
	@missing=""; for t in $(HOST_TOOLS); do command -v $${t%%:*} >/dev/null || missing="$$missing $${t##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing || \
	      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; }; \
	  else echo "make: missing host packages: install them with: sudo apt-get install$$missing"; exit 1; fi; \
	fi

build: check-go
	$(GO) build ./...

# siglab is rebuilt every time: it is cheap and must match the tree.
$(SIGLAB): check-go host-deps FORCE
	@mkdir -p bin
	$(GO) build -o $(SIGLAB) ./cmd/siglab
FORCE:

# Installs qemu (apt-get) and caches a Debian kernel and busybox, once.
setup: $(SIGLAB)
	$(SIGLAB) setup

vet: check-go
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags lab ./...

unit: check-go host-deps
	$(GO) test -race -count=1 ./...

# Every kernel-SCTP test, in one lab VM boot (natively where the host kernel
# has SCTP).
lab-test: setup
	$(SIGLAB) test $(LAB_PKGS) -- $(LAB_TEST_FLAGS)

test: vet unit rules-test lab-test

# The whole system live in the lab VM (internal/lab/system): two gateways,
# six application server processes, sigload, three faults, the alarms they
# raise and clear, and a summary. `bin/siglab demo --failover` runs the
# SCTP multihoming experiment instead.
demo: setup
	$(SIGLAB) demo

bench: setup
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(SIGLAB) test $(LAB_PKGS) -- -test.run '^$$' -test.bench 'Lab' -test.benchmem

clean:
	rm -rf bin .labwork

# The Prometheus rules and their unit tests (deploy/prometheus) with
# promtool, from Debian's prometheus package, installed when missing.
.PHONY: rules-test
rules-test:
	@command -v promtool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing prometheus (promtool)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus || \
	      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }; \
	  else echo "make: promtool is missing: install it with: sudo apt-get install prometheus"; exit 1; fi; }
	promtool check rules deploy/prometheus/*.rules.yml
	promtool test rules deploy/prometheus/tests/*.test.yml
