# syntax=docker/dockerfile:1
# One build stage, one target per binary, for any platform: the build stage
# runs on the builder's platform and cross-compiles for the target's.
#   docker build --target <name> .                      # this platform
#   docker buildx build --platform linux/amd64,linux/arm64 --target <name> .
# VERSION defaults to the VERSION file; `make image` passes the version of
# the checkout (see the Makefile) and COMMIT.
# Targets: csi-sidecar (next to the LINSTOR CSI node plugin, with
# drbd-utils), scheduler (the secondary scheduler with the DRBDReplicas
# plugin), webhook (the mutating admission webhook) and drbdsim (the DRBD
# simulator of test clusters).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=
ARG COMMIT=
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    version="${VERSION:-$(cat VERSION)}" \
 && CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/linstor-ha/linstor-ha/pkg/version.Version=${version} -X github.com/linstor-ha/linstor-ha/pkg/version.Commit=${COMMIT}" \
      -o /out/ ./cmd/... ./test/cmd/drbdsim ./test/cmd/drbdsetup

# The sidecar execs drbdsetup, so it needs drbd-utils next to it.
FROM debian:bookworm-slim AS csi-sidecar
RUN apt-get update \
 && apt-get install -y --no-install-recommends drbd-utils \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/csi-sidecar /usr/local/bin/csi-sidecar
ENTRYPOINT ["/usr/local/bin/csi-sidecar"]

FROM gcr.io/distroless/static-debian12:nonroot AS scheduler
COPY --from=build /out/scheduler /usr/local/bin/scheduler
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/scheduler"]

FROM gcr.io/distroless/static-debian12:nonroot AS webhook
COPY --from=build /out/webhook /usr/local/bin/webhook
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/webhook"]

FROM gcr.io/distroless/static-debian12:nonroot AS drbdsim
COPY --from=build /out/drbdsim /out/drbdsetup /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/drbdsim"]
