# linstor-ha build, test and lint entry points. Every target installs what it
# needs through the Go module proxy; nothing is expected on the machine but Go.

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X github.com/linstor-ha/linstor-ha/pkg/version.Version=$(VERSION)
BIN         ?= $(CURDIR)/bin
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 60s
# Packages with a test that starts processes or servers run without -race on
# CI budgets; everything else runs with it.
TEST_FLAGS  ?= -race -count=1

.PHONY: all build test lint fmt fuzz bench demo clean

all: build

## build: compile every binary into ./bin
build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/... ./test/cmd/...

## test: run every test (unit, fixture, simulator, end to end)
test:
	$(GO) test $(TEST_FLAGS) ./...

## lint: gofmt, go vet and staticcheck must all be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## fmt: format the sources
fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: fuzz the events2 parser, then the state model, FUZZTIME each (60s)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./pkg/drbd/events2/
	$(GO) test -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZTIME) ./pkg/drbd/state/

## bench: the parser, model and simulator benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

## demo: a simulated DRBD cluster loses a node; prints what DRBD sees when
demo:
	$(GO) run ./test/cmd/drbdsim demo

clean:
	rm -rf $(BIN)
