#!/usr/bin/env bash
# Makes a CA, a broker certificate and client certificates for mTLS.
#   broker/certs.sh [--san DNS-NAME]... DIR [NODE...]
# --san adds a DNS name to the broker certificate (e.g. the in-cluster Service name).
# DIR gets ca.crt/ca.key, server.crt/key (SAN localhost, 127.0.0.1), prepull-cloud.crt/key,
# prepull-monitor.crt/key and NODE.crt/key for each node (CN = node name, the ACL's %u).
# Running it again on the same DIR keeps the CA and adds missing certificates.
set -euo pipefail
sans="DNS:localhost,IP:127.0.0.1"
while [[ ${1:-} == --san ]]; do
    [[ -n ${2:-} ]] || { echo "certs.sh: --san needs a DNS name" >&2; exit 2; }
    sans="$sans,DNS:$2"
    shift 2
done
if [[ $# -lt 1 ]]; then
    echo "usage: $0 [--san DNS-NAME]... DIR [NODE...]" >&2
    exit 2
fi
dir=$1; shift
mkdir -p "$dir"
cd "$dir"
days=825
ecparam() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; chmod 600 "$1"; }

if [[ ! -f ca.crt ]]; then
    ecparam ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=prepull-ca" -out ca.crt \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

issue() { # NAME KIND(server|client)
    local name=$1 kind=$2 ext
    [[ -f "$name.crt" ]] && return 0
    if [[ ! "$name" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || [[ ${#name} -gt 63 ]]; then
        echo "certs.sh: '$name' is not a DNS-1123 label (lowercase letters, digits, '-'; at most 63)" >&2
        exit 2
    fi
    ecparam "$name.key"
    ext=$(mktemp)
    if [[ $kind == server ]]; then
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans" > "$ext"
        subject=/CN=localhost
    else
        printf 'extendedKeyUsage=clientAuth\n' > "$ext"
        subject=/CN=$name
    fi
    openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
        -sha256 -extfile "$ext" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$ext"
}

issue server server
for client in prepull-cloud prepull-monitor "$@"; do
    issue "$client" client
done
echo "certificates in $(pwd): ca.crt server.crt prepull-cloud.crt prepull-monitor.crt${*:+ $*}" >&2
