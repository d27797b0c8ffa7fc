#!/usr/bin/env bash
# Builds the upstream programs pinned in this module (go.mod's tool block)
# into a cache directory keyed by the module's content and the Go version,
# and prints that directory. A finished build is marked complete; a missing
# or partial one is built again. Override the cache root with
# LINSTOR_HA_TOOLS_CACHE.
#
#   test/tools/build.sh [MODULE_DIR]
#
# MODULE_DIR is another module of tools (test/tools/helm: the helm
# binary); default: this script's directory. Each module has its own key.
set -euo pipefail
if [ $# -gt 0 ]; then
  cd "$1"
else
  cd "$(dirname "$0")"
fi

root=${LINSTOR_HA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/linstor-ha/tools}
key=$( { cat go.mod go.sum; go env GOVERSION GOOS GOARCH; } | sha256sum | cut -c1-16)
dir=$root/$key
if [ -f "$dir/.complete" ]; then
  echo "$dir"
  exit 0
fi
# One build at a time: a second caller waits for the first and then finds
# the cache complete, instead of deleting the first one's partial build.
mkdir -p "$root"
exec 9>"$root/.build.lock"
flock 9
if [ -f "$dir/.complete" ]; then
  echo "$dir"
  exit 0
fi

# go.mod names its tools in a tool block or one per tool line.
tools=$(sed -n -e '/^tool (/,/^)/{/^tool (/d;/^)/d;s/^[[:space:]]*//;p;}' -e 's/^tool \([^(].*\)$/\1/p' go.mod)

rm -rf "$dir.partial"
mkdir -p "$dir.partial"
start=$(date +%s)
for t in $tools; do
  name=${t##*/}
  case $t in go.etcd.io/etcd/server/v3) name=etcd ;; esac
  echo "building $name ($t)..." >&2
  CGO_ENABLED=0 go build -trimpath -o "$dir.partial/$name" "$t"
done
# kwok takes its behaviour from Stage objects, which its module ships as
# YAML: nodes become Ready and renew their lease, pods run at once and are
# removed once deleted, as a live kubelet would do.
if grep -q 'sigs.k8s.io/kwok ' go.mod; then
  kwok=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$kwok/kustomize/stage/$f"
    echo "---"
  done > "$dir.partial/kwok-stages.yaml"
fi
touch "$dir.partial/.complete"
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "built $(echo $tools | wc -w) tools in $(( $(date +%s) - start ))s" >&2
echo "$dir"
