# linstor-ha build, test and lint entry points. Every target installs what it
# needs through the Go module proxy; nothing is expected on the machine but Go.

GO          ?= go
# The release is the VERSION file (0.1.0: the image tag; binaries print
# v0.1.0). A build of the commit tagged v<release> from a clean tree is that
# release; any other build appends -g<commit>, and -dirty when tracked files
# differ from the commit: 0.1.0-g1a2b3c4d5e6f-dirty. VERSION=... overrides.
RELEASE     := $(shell cat VERSION)
COMMIT      ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
ifndef VERSION
VERSION     := $(shell v=$$(cat VERSION); \
	if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git describe --tags --exact-match --match "v$$v" HEAD >/dev/null 2>&1 || v="$$v-g$$(git rev-parse --short=12 HEAD)"; \
	  git diff --quiet HEAD -- 2>/dev/null || v="$$v-dirty"; \
	fi; echo "$$v")
endif
LDFLAGS     := -X github.com/linstor-ha/linstor-ha/pkg/version.Version=$(VERSION) -X github.com/linstor-ha/linstor-ha/pkg/version.Commit=$(COMMIT)
# Images: make image builds the three for this machine's platform; make
# image-push builds them for PLATFORMS and pushes them.
DOCKER      ?= docker
IMAGE_REPO  ?= ghcr.io/linstor-ha
IMAGE_TAG   ?= $(VERSION)
PLATFORMS   ?= linux/amd64,linux/arm64
IMAGES      := csi-sidecar scheduler webhook
BIN         ?= $(CURDIR)/bin
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
CONTROLLER_GEN ?= sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
FUZZTIME    ?= 60s
# Packages with a test that starts processes or servers run without -race on
# CI budgets; everything else runs with it.
TEST_FLAGS  ?= -race -count=1

.PHONY: all build image image-push set-version generate tools test test-unit test-alerts test-e2e lint lint-chart verify fmt fuzz bench bench-sidecar bench-scheduler bench-webhook bench-failover bench-baseline chaos cluster demo demo-stock clean

# The upstream programs of test clusters, built once into a cache keyed by
# test/tools/go.mod and go.sum (about 12 minutes cold on two cores).
TOOLS_DIR = $(shell test/tools/build.sh)
# helm, for the chart (charts/linstor-ha), from a module of its own
# (test/tools/helm, a few minutes cold).
HELM_DIR = $(shell test/tools/build.sh test/tools/helm)

all: build

## build: compile every binary into ./bin
build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/... ./test/cmd/...

## image: the csi-sidecar, scheduler and webhook images for this platform, as $(IMAGE_REPO)/<name>:$(IMAGE_TAG)
image:
	@for t in $(IMAGES); do \
	  $(DOCKER) build --target $$t --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE_REPO)/$$t:$(IMAGE_TAG) . || exit 1; \
	done

## image-push: the same images for every platform of PLATFORMS (linux/amd64,linux/arm64), pushed
image-push:
	@for t in $(IMAGES); do \
	  $(DOCKER) buildx build --platform $(PLATFORMS) --push --target $$t --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE_REPO)/$$t:$(IMAGE_TAG) . || exit 1; \
	done

## set-version: write the VERSION file's release into every linstor-ha image tag under manifests/ and into the chart's version and appVersion (at a release, after editing VERSION)
set-version:
	@sed -i -E 's#(ghcr\.io/linstor-ha/(csi-sidecar|scheduler|webhook)):[^[:space:]"'"'"']+#\1:$(RELEASE)#g' $$(grep -rl 'ghcr.io/linstor-ha/' manifests)
	@sed -i -E 's#^version: .*#version: $(RELEASE)#; s#^appVersion: .*#appVersion: "$(RELEASE)"#' charts/linstor-ha/Chart.yaml
	@grep -rn 'ghcr.io/linstor-ha/[a-z-]*:' manifests

## generate: deepcopy functions and the CRD of the replica report API
generate:
	$(GO) run $(CONTROLLER_GEN) object paths=./pkg/apis/... crd:crdVersions=v1 output:crd:dir=./manifests/crd
	cp manifests/crd/linstor-ha.io_replicareports.yaml charts/linstor-ha/files/
	mkdir -p charts/linstor-ha/files/monitoring
	cp manifests/components/monitoring/prometheusrule.yaml manifests/components/monitoring/linstor-ha.json charts/linstor-ha/files/monitoring/

## tools: build the pinned upstream programs (etcd, kube-apiserver, ...) unless cached
tools:
	@echo "upstream tools in $(TOOLS_DIR)"

## test: every test: unit, fixture, simulator, then end to end on a local cluster
test: test-unit test-e2e

## test-alerts: promtool's checks and unit tests of the alert rules (also part of test-unit)
# promtool is built before the tests start (test/tools/promtool, several
# minutes cold), so that its build never counts against a test's timeout.
test-alerts:
	@promtool=$$(test/tools/build.sh test/tools/promtool) && LINSTOR_HA_PROMTOOL=$$promtool $(GO) test -count=1 ./test/alerts/

test-unit:
	@promtool=$$(test/tools/build.sh test/tools/promtool) && LINSTOR_HA_PROMTOOL=$$promtool $(GO) test $(TEST_FLAGS) $$($(GO) list ./... | grep -v /test/e2e)

# End-to-end tests start whole clusters; one package at a time keeps the
# two cores from being shared by two clusters.
test-e2e:
	@dir=$$(test/tools/build.sh) && helm=$$(test/tools/build.sh test/tools/helm) && LINSTOR_HA_TOOLS=$$dir LINSTOR_HA_HELM=$$helm $(GO) test -count=1 -p 1 -timeout 30m ./test/e2e/...

## lint: gofmt, go vet and staticcheck must all be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## lint-chart: helm lint --strict of charts/linstor-ha
lint-chart:
	$(HELM_DIR)/helm lint --strict charts/linstor-ha

## verify: the tree is tidy and generated files are current, then lint and lint-chart
verify: lint lint-chart
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@$(MAKE) --no-print-directory generate >/dev/null
	@out=$$(git status --porcelain -- pkg/apis manifests/crd charts/linstor-ha/files); if [ -n "$$out" ]; then echo "make generate changed the tree (commit its output):"; echo "$$out"; git diff --stat -- pkg/apis manifests/crd; exit 1; fi

## fmt: format the sources
fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: fuzz the events2 parser, the state model, hostile replica reports (index, scheduler plugin) and admission reviews, FUZZTIME each (60s)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./pkg/drbd/events2/
	$(GO) test -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZTIME) ./pkg/drbd/state/
	$(GO) test -run '^$$' -fuzz '^FuzzIndexHostileReports$$' -fuzztime $(FUZZTIME) ./pkg/replicas/
	$(GO) test -run '^$$' -fuzz '^FuzzHostileReports$$' -fuzztime $(FUZZTIME) ./scheduler-plugin/drbdreplicas/
	$(GO) test -run '^$$' -fuzz '^FuzzAdmissionReview$$' -fuzztime $(FUZZTIME) ./webhook/podhandler/

## bench: in-process benchmarks (parser, model, sidecar decision latency, scheduler plugin, webhook handler)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/... ./csi-sidecar/... ./scheduler-plugin/... ./webhook/...

## bench-sidecar: on the local cluster: 50 pods of a crashed node, sidecar memory with 1,000 resources and 10,000 pods
bench-sidecar:
	@dir=$$(test/tools/build.sh) && LINSTOR_HA_TOOLS=$$dir $(GO) test -count=1 -timeout 30m -run '^$$' -bench 'FailOver50Pods|SidecarMemory' -benchtime 1x ./test/e2e/

## bench-scheduler: on a local cluster of 100 nodes: 1,000 pods with DRBD volumes, stock scheduler and ours side by side
bench-scheduler:
	@dir=$$(test/tools/build.sh) && LINSTOR_HA_TOOLS=$$dir $(GO) test -count=1 -timeout 30m -run '^$$' -bench SchedulerThroughput -benchtime 1x ./test/e2e/

## bench-webhook: pod creation through the API server, 500 pods per arm: no webhook, ours, two reference webhooks that answer at once (allow; the same patch as ours); etcd with and without fsync
bench-webhook:
	@dir=$$(test/tools/build.sh) && LINSTOR_HA_TOOLS=$$dir $(GO) test -count=1 -timeout 30m -run '^$$' -bench WebhookPodCreation -benchtime 1x ./test/e2e/

## bench-failover: linstor-ha on the local cluster: repeated node crashes, a lost room of 100 pods, stock Kubernetes (10 min bound)
bench-failover:
	@mkdir -p $(BIN) && echo "building csi-sidecar, scheduler and webhook" && $(GO) build -o $(BIN)/ ./cmd/csi-sidecar ./cmd/scheduler ./cmd/webhook
	@dir=$$(test/tools/build.sh) && LINSTOR_HA_TOOLS=$$dir $(GO) run ./test/cmd/localcluster bench-failover \
		--sidecar $(BIN)/csi-sidecar --scheduler $(BIN)/scheduler --webhook $(BIN)/webhook $(BENCH_FAILOVER_FLAGS)

## chaos: seeded random faults with invariants on a local cluster with all three parts (TRIALS=10 SEED=1 FAULTS=4)
TRIALS ?= 10
SEED   ?= 1
FAULTS ?= 4
chaos:
	@mkdir -p $(BIN) && echo "building csi-sidecar, scheduler and webhook" && $(GO) build -o $(BIN)/ ./cmd/csi-sidecar ./cmd/scheduler ./cmd/webhook
	@dir=$$(test/tools/build.sh) && LINSTOR_HA_TOOLS=$$dir $(GO) run ./test/cmd/localcluster chaos \
		--trials $(TRIALS) --seed $(SEED) --faults $(FAULTS) --sidecar $(BIN)/csi-sidecar --scheduler $(BIN)/scheduler --webhook $(BIN)/webhook

## bench-baseline: stock Kubernetes, default settings: node crash to replacement pod Running with its volume attached
bench-baseline:
	@dir=$$(test/tools/build.sh) && LINSTOR_HA_TOOLS=$$dir $(GO) run ./test/cmd/localcluster bench-baseline

## cluster: start a local cluster and keep it until Ctrl-C
cluster:
	@dir=$$(test/tools/build.sh) && LINSTOR_HA_TOOLS=$$dir $(GO) run ./test/cmd/localcluster up

## demo: a local cluster with all three parts loses the node under a stateful pod; prints the timeline
demo:
	@mkdir -p $(BIN) && echo "building csi-sidecar, scheduler and webhook" && $(GO) build -o $(BIN)/ ./cmd/csi-sidecar ./cmd/scheduler ./cmd/webhook
	@dir=$$(test/tools/build.sh) && LINSTOR_HA_TOOLS=$$dir $(GO) run ./test/cmd/localcluster demo \
		--sidecar $(BIN)/csi-sidecar --scheduler $(BIN)/scheduler --webhook $(BIN)/webhook

## demo-stock: the same crash with stock Kubernetes only
demo-stock:
	@dir=$$(test/tools/build.sh) && LINSTOR_HA_TOOLS=$$dir $(GO) run ./test/cmd/localcluster demo

clean:
	rm -rf $(BIN)
