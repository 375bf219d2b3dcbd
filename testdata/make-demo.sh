#!/bin/bash
# Rebuilds testdata/demo: a small two-platform OCI layout (tag latest) that shows
# several seed failures at once. Its output is committed; run this script only to
# change it. Needs the packages from testdata/install-deps.sh (gcc, musl-tools,
# golang-go, gcc-aarch64-linux-gnu, apt-get with arm64 enabled).
#
#   linux/amd64       musl loader (Alpine layout) + /usr/bin/consul-template, a Go
#                     CGO_ENABLED=0 static binary                        -> clean
#   linux/arm64/v8    musl loader (Alpine layout) + three problems:
#                     /usr/bin/consul-template  Go CGO_ENABLED=1 for arm64 glibc; its
#                         PT_INTERP /lib/ld-linux-aarch64.so.1 is absent  -> libc mismatch
#                     /usr/bin/tini             a static amd64 binary     -> exec format error
#                     /usr/local/bin/entrypoint.sh  #!/bin/bash, no bash  -> interpreter missing
#                     Entrypoint ["/usr/bin/tini", "--"], Cmd ["/usr/local/bin/entrypoint.sh"].
# musl comes from Debian bookworm's musl package (amd64 and arm64); the programs are
# built from testdata/src. Layers are gzip, entries owned by 0:0 with mtime 0.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/demo
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export SOURCE_DATE_EPOCH=0 GOCACHE="$W/go-build" GOPROXY=off GOFLAGS=-trimpath GO111MODULE=on

# base DIR DEBARCH MUSLARCH: the musl loader as Alpine lays it out.
base() {
    local dir=$1 arch=$2 march=$3
    mkdir -p "$W/deb-$arch" "$dir/lib" "$dir/etc"
    (cd "$W/deb-$arch" && apt-get download -q "musl:$arch" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
    dpkg-deb -x "$W/deb-$arch"/musl_*_"$arch".deb "$W/deb-$arch/x"
    cp "$W/deb-$arch/x/lib/$march-linux-musl/libc.so" "$dir/lib/ld-musl-$march.so.1"
    ln -s "ld-musl-$march.so.1" "$dir/lib/libc.musl-$march.so.1"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$dir/etc/passwd"
}

base "$W/base-amd64" amd64 x86_64
base "$W/base-arm64" arm64 aarch64

mkdir -p "$W/app-amd64/usr/bin" "$W/app-arm64/usr/bin" "$W/app-arm64/usr/local/bin"
(
    cd "$HERE/src/ct"
    CGO_ENABLED=0 GOARCH=amd64 go build -ldflags="-s -w" -o "$W/app-amd64/usr/bin/consul-template" .
    CGO_ENABLED=1 GOARCH=arm64 CC=aarch64-linux-gnu-gcc go build -ldflags="-s -w" \
        -o "$W/app-arm64/usr/bin/consul-template" .
)
musl-gcc -O2 -static -s -o "$W/app-arm64/usr/bin/tini" "$HERE/src/tini.c"
printf '#!/bin/bash\nset -euo pipefail\nexec /usr/bin/consul-template "$@"\n' > "$W/app-arm64/usr/local/bin/entrypoint.sh"
chmod 755 "$W/app-arm64/usr/local/bin/entrypoint.sh"

ENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'
cat > "$W/spec.json" <<JSON
{"out": "$W/demo", "tag": "latest", "images": [
 {"platform": {"os": "linux", "architecture": "amd64"},
  "layers": ["$W/base-amd64", "$W/app-amd64"],
  "env": [$ENV], "entrypoint": ["/usr/bin/consul-template"]},
 {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
  "layers": ["$W/base-arm64", "$W/app-arm64"],
  "env": [$ENV], "entrypoint": ["/usr/bin/tini", "--"], "cmd": ["/usr/local/bin/entrypoint.sh"]}]}
JSON
python3 "$HERE/oci_layout.py" "$W/spec.json"
rm -rf "$OUT"
mv "$W/demo" "$OUT"
du -sh "$OUT"
