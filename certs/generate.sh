#!/usr/bin/env bash
# Makes a CA and a serving certificate for the webhook, for local clusters
# and tests. Production clusters use cert-manager (see manifests/).
#
#   certs/generate.sh [-n NAMESPACE] [-s SERVICE] [-o DIR] [-d DAYS] [-i IP]
#
# Writes ca.crt, ca.key, tls.crt and tls.key into DIR (default: certs/).
# The serving certificate is valid for SERVICE, SERVICE.NAMESPACE,
# SERVICE.NAMESPACE.svc, SERVICE.NAMESPACE.svc.cluster.local, localhost and
# each IP given with -i. An existing CA in DIR is reused, so re-running the
# script rotates the serving certificate without changing the CA bundle.
# Keys are never committed (.gitignore).
set -euo pipefail

namespace=linstor-ha-system
service=linstor-ha-webhook
out=$(cd "$(dirname "$0")" && pwd)
days=365
ips=(127.0.0.1)

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "n:s:o:d:i:h" opt; do
  case $opt in
    n) namespace=$OPTARG ;;
    s) service=$OPTARG ;;
    o) out=$OPTARG ;;
    d) days=$OPTARG ;;
    i) ips+=("$OPTARG") ;;
    h) usage 0 ;;
    *) usage 2 >&2 ;;
  esac
done
command -v openssl >/dev/null || { echo "generate.sh: openssl is required" >&2; exit 1; }
mkdir -p "$out"
umask 077

if [ ! -s "$out/ca.key" ] || [ ! -s "$out/ca.crt" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days "$days" \
    -subj "/CN=linstor-ha webhook CA" \
    -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
fi

san="DNS:$service,DNS:$service.$namespace,DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local,DNS:localhost"
for ip in "${ips[@]}"; do san="$san,IP:$ip"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -newkey rsa:2048 -nodes -subj "/CN=$service.$namespace.svc" \
  -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' "$san" > "$tmp/ext"
openssl x509 -req -in "$tmp/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days "$days" -extfile "$tmp/ext" -out "$tmp/tls.crt" 2>/dev/null
# Replace both files by rename so a watching server never reads a key that
# does not match its certificate for longer than one rename.
mv "$tmp/tls.key" "$out/tls.key"
mv "$tmp/tls.crt" "$out/tls.crt"
rm -f "$out/ca.srl"
echo "wrote $out/ca.crt, $out/tls.crt and $out/tls.key for $service.$namespace.svc"
