# sockc build and test entry points. `make test` is what CI runs (as root,
# with SOCKC_REQUIRE_KERNEL=1 so that kernel tests cannot skip).

GO ?= go

.PHONY: all build test vet fmt-check golden clean demo bench bench-quick fuzz kernels

all: build

# The modules are fetched first, and silently, so that a first build prints
# what every later one does (go build would add a "go: downloading" line per
# module).
build:
	$(GO) mod download
	$(GO) build -o bin/sockc ./cmd/sockc

# The runtime runs a second time under the race detector: the proxy's
# accept loop, event loop and relays share state across goroutines.
# -timeout: go test's default of 10 minutes a package is near what e2e
# takes on a busy 2-core machine (606 s once); a hang still ends.
test: vet fmt-check
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -race -count=1 ./runtime/...

vet:
	$(GO) vet ./...

fmt-check:
	@files=$$(git ls-files '*.go' 2>/dev/null); [ -n "$$files" ] || files=$$(find . -name '*.go' -not -path './.*'); \
	out=$$(gofmt -l $$files); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Rewrite golden files from the current compiler; review the diff like code.
golden:
	$(GO) test ./... -update

clean:
	rm -rf bin

# A real redirect: the same loopback transfer, plain, then under the
# same-host bypass (needs root for the second run).
demo: build
	$(GO) build -o bin/demo ./examples/demo
	@echo "== plain loopback TCP"
	@bin/demo
	@echo "== the same program under: sockc run examples/bypass.sock -- bin/demo"
	@bin/sockc run examples/bypass.sock -- bin/demo

# The benchmark (docs/benchmarks.md): sockc's proxy and bypass against a
# direct connection, Go, HAProxy and socat proxies, and the compiler against
# clang -O2, and the same configurations under unmodified iperf3 and sockperf,
# on loopback and across three network namespaces joined by veth pairs.
# Needs root; installs haproxy, socat, iperf3, sockperf and ethtool with apt-get if
# missing.
# `make bench` rewrites the results section of docs/benchmarks.md and the
# plot (about 20 minutes); `make bench-quick` checks a change in about three
# and writes bin/bench-quick.md and .svg instead.
bench: build
	$(GO) build -o bin/sockc-bench ./cmd/sockc-bench
	bin/sockc-bench -sockc bin/sockc -doc docs/benchmarks.md -plot docs/benchmarks.svg

bench-quick: build
	$(GO) build -o bin/sockc-bench ./cmd/sockc-bench
	bin/sockc-bench -quick -sockc bin/sockc -doc bin/bench-quick.md -plot bin/bench-quick.svg

# Fuzz the scanner, parser, checker and whole compile, one target after
# another (go test fuzzes one target per call), and print each target's
# final exec count. A crash or hang fails the run and leaves its input
# under the package's testdata/fuzz/ for a regression test.
#
# Each target runs for a count of executions, about 30 s on CI's machine,
# not for a duration: with a duration, Go before 1.27 can fail a clean run
# with "context deadline exceeded" when the deadline races a busy worker
# (go.dev/issue/75804; CI failed so once on FuzzScan). FUZZTIME=10m (or
# any go test -fuzztime value) overrides every target's budget.
FUZZTIME ?=
FUZZ_TARGETS = ./lang/scanner:FuzzScan:200000x ./lang/parser:FuzzParse:200000x \
	./lang/check:FuzzCheck:150000x .:FuzzCompile:40000x

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
		budget=$${FUZZTIME:-$$budget}; log=$$(mktemp); \
		echo "fuzz: $$name ($$pkg) for $$budget"; \
		if ! $(GO) test -run '^$$' -fuzz '^'$$name'$$' -fuzztime $$budget $$pkg >$$log 2>&1; then \
			cat $$log; rm -f $$log; exit 1; \
		fi; \
		execs=$$(grep -o 'execs: [0-9]*' $$log | tail -n 1 | cut -d ' ' -f 2); rm -f $$log; \
		echo "fuzz: $$name: $${execs:-0} execs, no crash"; \
	done

# The kernel matrix (kernels/README.md): the kernel tests, the runtime
# tests, a list of e2e tests and each example under `sockc run` on the
# kernels of Debian 11, 12 and 13 (5.10, 6.1, 6.12), each booted under
# qemu, and on the host's. Needs root and qemu-system-x86; downloads the
# kernels once into ${SOCKC_KERNEL_CACHE:-/var/cache/sockc/kernels}.
# Writes bin/kernels/summary.md; fails if any check fails on any kernel.
# KM_GEN: generated programs the verifier must accept on each kernel.
KM_GEN ?= 300

kernels:
	KM_GEN=$(KM_GEN) GO=$(GO) kernels/run
