# imdsemu: the two commands are `make run` and `make test`.
GO      ?= go
BIN     := bin/imdsemu
PKGS    := ./...
FUZZTIME ?= 30s

.PHONY: all build run test vet unit e2e bench bench-http bench-instances bench-sts load fuzz fuzz-ci clean image

all: build

build:
	$(GO) build -o $(BIN) ./cmd/imdsemu

# An emulator with a working default role on 127.0.0.1:1338; prints the line to export.
run: build
	./$(BIN) serve

# vet, the unit tests with the race detector, then the end-to-end tests
# (which build the binary and drive it with the real SDKs and the AWS CLI).
test: vet unit e2e

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo 'gofmt: files above need formatting'; exit 1; }

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /e2e)

e2e:
	$(GO) test -race -count=1 -timeout 40m ./e2e/...

# Benchmarks; results and the machine they ran on are in docs/performance.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./imds/ ./sts/ ./policy/ ./fault/ ./federation/ ./credprovider/

# imdsemu's metadata listener against a bare net/http server and
# amazon-ec2-metadata-mock, interleaved, with wrk (apt-get install wrk); writes
# docs/performance-http.md and docs/bench/http.svg. Takes about 5 minutes.
bench-http:
	scripts/bench-http.sh

# bench-instances: memory per instance with 1, 1,000 and 10,000 instances in
# one process; writes docs/bench/instances.csv and docs/bench/instances.svg.
bench-instances:
	scripts/bench-instances.sh

# bench-sts: signed GetCallerIdentity over HTTP, server on one core (wrk).
bench-sts:
	scripts/bench-sts.sh

# Load run of the credential GET with wrk (apt-get install wrk); see docs/performance.md.
load: build
	scripts/load.sh

# Short fuzz runs of every parser that faces the network or a user: every
# Fuzz function of every package, found in the test files, so that a new
# target cannot be left out. (-fuzzminimizetime keeps minimisation of large
# XML seeds from stalling a run.) The fuzz runs use Go 1.27.3 (fetched from the
# module proxy like a module): Go 1.26's fuzz coordinator can report a bare
# "context deadline exceeded" failure when -fuzztime ends while a worker is
# busy (go.dev/issue/75804, fixed in 1.27); the rest of the build stays on 1.26.
FUZZ_GO ?= GOTOOLCHAIN=go1.27.3 $(GO)
FUZZ_TARGETS = $(shell grep -rlE --include='*_test.go' '^func Fuzz' . | sort | while read f; do \
	for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/p' $$f); do echo ./$$(dirname $${f#./})/:$$fn; done; done)
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$pkg $$fn"; \
		$(FUZZ_GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg || exit 1; \
	done

# Every fuzz target for 10 s, as CI runs them (.ci/run).
fuzz-ci:
	$(MAKE) fuzz FUZZTIME=10s

# The provider lab's SDK behaviour matrix: every shipped scenario with every
# lane that runs here (real SDK probes included), written to docs/sdk-matrix.md.
# About 3 minutes per batch of four scenarios, wall time.
sdk-matrix: build
	$(GO) run ./lab/sdkmatrix --imdsemu $(BIN) --out docs/sdk-matrix.md

# The container image (deploy/container/Containerfile): a static binary FROM
# scratch. IMAGE names it; PODMAN may be docker.
IMAGE  ?= localhost/imdsemu:latest
PODMAN ?= podman
image:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/imdsemu
	$(PODMAN) build -f deploy/container/Containerfile -t $(IMAGE) .

clean:
	rm -rf bin
