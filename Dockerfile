# syntax=docker/dockerfile:1
# One build stage, one target per binary. Build a target with
#   docker build --target <name> --build-arg VERSION=$(git describe --tags) .
# Targets are added here as the binaries land (webhook, scheduler and
# csi-sidecar); drbdsim is the DRBD simulator used by test clusters.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/linstor-ha/linstor-ha/pkg/version.Version=${VERSION}" \
      -o /out/ ./test/cmd/...

FROM gcr.io/distroless/static-debian12:nonroot AS drbdsim
COPY --from=build /out/drbdsim /out/drbdsetup /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/drbdsim"]
