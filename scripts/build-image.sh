#!/usr/bin/env bash
# Builds the OCI image of prepull offline, the way the test images are built (umoci; no daemon, no
# registry, no base image): the `prepull` binary (cloud, CLI, fleet), the lean `prepull-edge`
# worker for the nodes (Swift runtime and Foundation linked in; scripts/build-edge.sh), the shared
# libraries they link (ldd, each at its own path: libmosquitto, OpenSSL, SQLite, glibc, and for
# `prepull` the Swift runtime), the system's CA bundle, /etc/passwd with the non-root user 65532 the
# chart runs as, and an empty /tmp.
#
#   scripts/build-image.sh [--binary PATH] [--edge-binary PATH | --no-edge] [--tag TAG] [--out DIR] [--archive FILE]
#
#   --binary       the prepull binary (default: a release build, `swift build -c release`)
#   --edge-binary  the prepull-edge binary (default: scripts/build-edge.sh); --no-edge leaves it out
#   --tag      image tag (default: the binary's --version)
#   --out      OCI layout directory (default: .build/image/oci); the image is DIR:TAG
#   --archive  also write an oci-archive tarball (for `ctr images import`, `skopeo copy`, ...)
#
# Prints the layout reference (oci:DIR:TAG). Push it with skopeo, e.g.
#   skopeo copy oci:.build/image/oci:0.1.0 docker://registry.example.com/prepull:0.1.0
# Users with a container builder can use the Containerfile at the repository root instead.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="" edge="" with_edge=1 tag="" out=.build/image/oci archive=""
while (($#)); do
    case $1 in
        --binary) binary=${2:?}; shift 2 ;;
        --edge-binary) edge=${2:?}; shift 2 ;;
        --no-edge) with_edge=0; shift ;;
        --tag) tag=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        --archive) archive=${2:?}; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--edge-binary PATH | --no-edge] [--tag TAG] [--out DIR] [--archive FILE]" >&2; exit 2 ;;
    esac
done
command -v umoci >/dev/null && command -v skopeo >/dev/null || scripts/install-deps.sh
if [[ -z $binary ]]; then
    swift build -c release --product prepull >&2
    binary=$(swift build -c release --show-bin-path)/prepull
fi
[[ -x $binary ]] || { echo "build-image: $binary is not an executable" >&2; exit 1; }
if ((with_edge)) && [[ -z $edge ]]; then edge=$(scripts/build-edge.sh); fi
[[ -z $edge || -x $edge ]] || { echo "build-image: $edge is not an executable" >&2; exit 1; }
tag=${tag:-$("$binary" --version)}
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || { echo "build-image: \"$tag\" is not an image tag" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$out")"
[[ -f $out/index.json ]] || umoci init --layout "$out"
umoci new --image "$out:$tag"
umoci unpack --rootless --image "$out:$tag" "$work/bundle" >/dev/null
root=$work/bundle/rootfs

install -D -m 0755 "$binary" "$root/usr/bin/prepull"
strip --strip-unneeded "$root/usr/bin/prepull"
binaries=("$binary")
if [[ -n $edge ]]; then
    # Stripping drops symbol tables only: the function layout the linker chose stays.
    install -D -m 0755 "$edge" "$root/usr/bin/prepull-edge"
    strip --strip-unneeded "$root/usr/bin/prepull-edge"
    binaries+=("$edge")
fi
# Every library the dynamic loader resolves for them, at the same path (the binaries' RUNPATH and
# the loader's defaults then find them), and the loader itself.
for b in "${binaries[@]}"; do ldd "$b"; done | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u | while read -r lib; do
    install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
done
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
mkdir -p "$root/tmp" "$root/data"
printf 'root:x:0:0:root:/root:/sbin/nologin\nprepull:x:65532:65532:prepull:/data:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nprepull:x:65532:\n' > "$root/etc/group"

# Directories readable by the non-root user (the bundle's root starts out 0700).
find "$root" -type d -exec chmod 0755 {} +
chmod 1777 "$root/tmp"
umoci repack --refresh-bundle --image "$out:$tag" "$work/bundle" >/dev/null
umoci config --image "$out:$tag" --author prepull --config.entrypoint /usr/bin/prepull --config.cmd --help \
    --config.user 65532:65532 --config.workingdir /data --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --config.label org.opencontainers.image.title=prepull --config.label "org.opencontainers.image.version=$tag" \
    --config.label org.opencontainers.image.description="prepull: pre-pull container images onto edge nodes over MQTT"
umoci gc --layout "$out"
if [[ -n $archive ]]; then
    rm -f "$archive"
    skopeo copy --quiet "oci:$out:$tag" "oci-archive:$archive:prepull:$tag" </dev/null
fi
echo "oci:$out:$tag"
