#!/bin/bash
# Builds the real-binary fixtures and seed images that the integration tests
# scan, into a cache directory outside the checkout, and records the real
# loader's verdicts on them (testdata/oracle.py).
#
# Usage: testdata/build-fixtures.sh [CACHE_DIR]
#   CACHE_DIR defaults to ${ELFGATE_FIXTURES:-$HOME/.cache/elfgate-fixtures}.
# Needs root (chroot, debootstrap) and the packages from testdata/install-deps.sh.
# Re-runnable: each fixture has a stamp (stamps/NAME) holding the hash of the
# shell function that builds it plus the recipe files it reads; a fixture whose
# stamp matches is reused. Delete a stamp, or set FORCE=1, to rebuild.
# Set ELFGATE_SKIP_DEBOOTSTRAP=1 to skip the two Debian minbase roots.
#
# Cache layout ($CACHE):
#   bin/                        programs built here (Go with -trimpath -ldflags="-s -w"):
#     hello-amd64-glibc           gcc, dynamic, glibc (interp /lib64/ld-linux-x86-64.so.2)
#     hello-arm64-glibc           aarch64-linux-gnu-gcc, dynamic, glibc
#     hello-armhf-glibc           arm-linux-gnueabihf-gcc, dynamic, glibc
#     hello-amd64-musl-static     musl-gcc -static
#     hello-amd64-musl-dynamic    musl-gcc, interp /lib/ld-musl-x86_64.so.1, NEEDED libc.so
#     newglibc-amd64              gcc, calls arc4random: needs GLIBC_2.36
#     tini-amd64-static           musl-gcc -static, stand-in for tini-static
#     libgreet-v1.so.1            gcc -shared, version script: defines only GREET_1.0
#     usegreet-amd64-glibc        linked against libgreet's v2 build: needs greet_loud@GREET_2.0
#     useabsent-amd64-{glibc,musl}  NEEDED libabsent.so.1, which no root ships
#     ct-{amd64,arm64}-{static,cgo}  Go (Debian golang-go), CGO_ENABLED=0 / 1
#     go-amd64-v3                 Go (Debian golang-go), GOAMD64=v3, CGO_ENABLED=0 (step toolchain)
#     esbuild-VERSION-arm64       esbuild's own arm64 Go binary from the npm registry (0.14.39:
#                                 go1.18.1; 0.6.15: go1.14.2), pinned by sha256 (step npm-go-binaries)
#   debs/                       .deb files from `apt-get download` (bookworm); debs/bullseye/: libc6 2.31
#   tools/qemu/                 qemu-aarch64-static, qemu-arm-static (extracted from Debian's
#                               qemu-user-static .deb, not installed; the oracle runs them in a chroot)
#   roots/  (unpacked root filesystems; every image below also exists here merged)
#     alpine-like-amd64           busybox (static) + musl loader at /lib/ld-musl-x86_64.so.1, no glibc
#     alpine-like-arm64           same for arm64 (/lib/ld-musl-aarch64.so.1)
#     debian-libc-arm64           libc6:arm64 + busybox-static:arm64 (bookworm)
#     debian-libc-armhf           libc6:armhf + busybox-static:armhf + hello-armhf-glibc
#     bullseye-libc-amd64         libc6:amd64 2.31 (bullseye) + busybox-static:amd64
#     consul-template-amd64       alpine-like-amd64 + /usr/bin/consul-template (Go, static)   -> clean
#     consul-template-arm64       alpine-like-arm64 + /usr/bin/consul-template (Go cgo glibc) -> libc-mismatch
#     tini-static-arm64           debian-libc-arm64 + /usr/bin/tini (amd64 static)            -> exec format
#     no-arm64-amd64              alpine-like-amd64 + hello-amd64-musl-dynamic
#     glibc-too-new-amd64         bullseye-libc-amd64 + /usr/bin/newglibc (needs GLIBC_2.36)
#     bash-on-busybox-arm64       debian-libc-arm64 + /usr/local/bin/entrypoint.sh (#!/bin/bash)
#     real-binaries-amd64         bookworm libc6:amd64 + musl:amd64 + every amd64 program above,
#                                 and libgreet-v1 as /usr/lib/libgreet.so.1 (libabsent nowhere)
#     bookworm-amd64              debootstrap --variant=minbase bookworm (amd64)
#     bookworm-arm64              debootstrap --variant=minbase --foreign --arch=arm64 bookworm
#     debian-libc-armel           libc6:armel + busybox-static:armel (bookworm; step toolchain):
#                                 soft-float loader /lib/ld-linux.so.3
#   images/  (OCI layouts, each with one tag: latest)
#     consul-template             index: linux/amd64 (clean) + linux/arm64/v8 (libc-mismatch)
#     tini-static                 manifest: linux/arm64/v8, entrypoint /usr/bin/tini (amd64)
#     no-arm64-manifest           index with linux/amd64 only
#     glibc-too-new               manifest: linux/amd64, entrypoint /usr/bin/newglibc
#     bash-on-busybox             manifest: linux/arm64/v8, entrypoint /usr/local/bin/entrypoint.sh
#     bookworm-minbase            index: linux/amd64 + linux/arm64/v8, one gzip layer each
#   archives/
#     tini-static.docker.tar      skopeo copy oci:images/tini-static:latest docker-archive:...
#     consul-template.oci.tar     skopeo copy --all oci:images/consul-template:latest oci-archive:...:latest
#   oracle/NAME.jsonl           oracle.py's verdicts for roots/NAME (one JSON object per line)
#   oracle/NAME.summary         ELF count and verdict counts for roots/NAME
#   stamps/NAME                 reuse keys
#   timings.txt                 seconds each fixture took when last built
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:-${ELFGATE_FIXTURES:-$HOME/.cache/elfgate-fixtures}}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
case "$CACHE/" in
    "$(cd "$HERE/.." && pwd)/"*) echo "build-fixtures: cache must be outside the checkout" >&2; exit 1 ;;
esac
mkdir -p "$CACHE"/{bin,debs,tools,roots,images,archives,oracle,stamps,work}
export SOURCE_DATE_EPOCH=0
export GOCACHE="$CACHE/work/go-build" GOPROXY=off GOFLAGS=-trimpath GO111MODULE=on
export DEBIAN_FRONTEND=noninteractive

log() { printf '[build-fixtures] %s\n' "$*" >&2; }

# step NAME FUNCTION [FILES...]: run FUNCTION unless stamps/NAME holds the same key.
step() {
    local name=$1 fn=$2
    shift 2
    local key
    key=$( { declare -f "$fn"; for f in "$@"; do cat "$f"; done; } | sha256sum | cut -d' ' -f1)
    if [ "${FORCE:-0}" != 1 ] && [ "$(cat "$CACHE/stamps/$name" 2>/dev/null)" = "$key" ]; then
        log "reuse $name"
        return 0
    fi
    rm -f "$CACHE/stamps/$name"
    log "build $name"
    local t0=$SECONDS
    "$fn"
    local dt=$((SECONDS - t0))
    echo "$key" > "$CACHE/stamps/$name"
    sed -i "/^$name /d" "$CACHE/timings.txt" 2>/dev/null || true
    echo "$name ${dt}s" >> "$CACHE/timings.txt"
    log "built $name in ${dt}s"
}

# fetch PKG:ARCH...: apt-get download into debs/ unless already there.
fetch() {
    local p
    for p in "$@"; do
        local name=${p%%:*} arch=${p##*:}
        if ! ls "$CACHE/debs/${name}_"*"_${arch}.deb" >/dev/null 2>&1; then
            (cd "$CACHE/debs" && apt-get download -q "$p" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
            ls "$CACHE/debs/${name}_"*"_${arch}.deb" >/dev/null
        fi
    done
}

# extract DIR PKG:ARCH...: dpkg-deb -x each package into DIR.
extract() {
    local dir=$1 p
    shift
    mkdir -p "$dir"
    for p in "$@"; do
        local name=${p%%:*} arch=${p##*:}
        fetch "$p"
        dpkg-deb -x "$(ls "$CACHE/debs/${name}_"*"_${arch}.deb" | head -n1)" "$dir"
    done
}

# busybox_links DIR: /bin/sh and a few applets as symlinks to /bin/busybox (Alpine's shape).
busybox_links() {
    local dir=$1 a
    for a in sh ash ls cat echo env mkdir rm cp mv ln sleep true false; do
        ln -sf busybox "$dir/bin/$a"
    done
}

fresh() { rm -rf "$1"; mkdir -p "$1"; }

# ---------------------------------------------------------------- programs
build_programs() {
    local b=$CACHE/bin src=$HERE/src
    gcc -O2 -o "$b/hello-amd64-glibc" "$src/hello.c"
    aarch64-linux-gnu-gcc -O2 -o "$b/hello-arm64-glibc" "$src/hello.c"
    arm-linux-gnueabihf-gcc -O2 -o "$b/hello-armhf-glibc" "$src/hello.c"
    musl-gcc -O2 -static -o "$b/hello-amd64-musl-static" "$src/hello.c"
    musl-gcc -O2 -o "$b/hello-amd64-musl-dynamic" "$src/hello.c"
    gcc -O2 -o "$b/newglibc-amd64" "$src/newglibc.c"
    musl-gcc -O2 -static -s -o "$b/tini-amd64-static" "$src/tini.c"
    local w=$CACHE/work/libs
    fresh "$w"
    gcc -O2 -shared -fPIC -Wl,-soname,libgreet.so.1 -Wl,--version-script="$src/greet.v1.map" \
        -o "$b/libgreet-v1.so.1" "$src/greet.c"
    gcc -O2 -shared -fPIC -DGREET_V2 -Wl,-soname,libgreet.so.1 -Wl,--version-script="$src/greet.v2.map" \
        -o "$w/libgreet.so.1" "$src/greet.c"
    ln -s libgreet.so.1 "$w/libgreet.so"
    gcc -O2 -o "$b/usegreet-amd64-glibc" "$src/usegreet.c" -L"$w" -lgreet
    gcc -O2 -shared -fPIC -Wl,-soname,libabsent.so.1 -o "$w/libabsent.so.1" "$src/absent.c"
    ln -s libabsent.so.1 "$w/libabsent.so"
    gcc -O2 -o "$b/useabsent-amd64-glibc" "$src/useabsent.c" -L"$w" -labsent
    musl-gcc -O2 -shared -fPIC -Wl,-soname,libabsent.so.1 -o "$w/libabsent.so.1" "$src/absent.c"
    musl-gcc -O2 -o "$b/useabsent-amd64-musl" "$src/useabsent.c" -L"$w" -labsent
    rm -rf "$w"
    (
        cd "$src/ct"
        CGO_ENABLED=0 GOARCH=amd64 go build -ldflags="-s -w" -o "$b/ct-amd64-static" .
        CGO_ENABLED=1 GOARCH=amd64 CC=gcc go build -ldflags="-s -w" -o "$b/ct-amd64-cgo" .
        CGO_ENABLED=0 GOARCH=arm64 go build -ldflags="-s -w" -o "$b/ct-arm64-static" .
        CGO_ENABLED=1 GOARCH=arm64 CC=aarch64-linux-gnu-gcc go build -ldflags="-s -w" -o "$b/ct-arm64-cgo" .
    )
}

fetch_qemu_static() {
    fresh "$CACHE/work/qemu"
    extract "$CACHE/work/qemu" qemu-user-static:amd64
    mkdir -p "$CACHE/tools/qemu"
    cp "$CACHE/work/qemu/usr/bin/qemu-aarch64-static" "$CACHE/work/qemu/usr/bin/qemu-arm-static" "$CACHE/tools/qemu/"
    rm -rf "$CACHE/work/qemu"
}

# ---------------------------------------------------------------- base roots
# alpine_like DIR ARCH MUSLARCH: busybox-static + Debian's musl, laid out as Alpine does:
# the loader is a regular file /lib/ld-musl-ARCH.so.1, libc.musl-ARCH.so.1 links to it,
# and there is no glibc anywhere.
alpine_like() {
    local dir=$1 arch=$2 march=$3
    fresh "$dir"
    local tmp=$CACHE/work/musl-$arch
    fresh "$tmp"
    extract "$tmp" "musl:$arch" "busybox-static:$arch"
    mkdir -p "$dir"/{bin,lib,etc,usr/bin,usr/lib,tmp,root}
    cp "$tmp/bin/busybox" "$dir/bin/busybox"
    cp "$tmp/lib/$march-linux-musl/libc.so" "$dir/lib/ld-musl-$march.so.1"
    ln -s "ld-musl-$march.so.1" "$dir/lib/libc.musl-$march.so.1"
    busybox_links "$dir"
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$dir/etc/passwd"
    rm -rf "$tmp"
}
build_alpine_like_amd64() { alpine_like "$CACHE/roots/alpine-like-amd64" amd64 x86_64; }
build_alpine_like_arm64() { alpine_like "$CACHE/roots/alpine-like-arm64" arm64 aarch64; }

debian_libc_root() {
    local dir=$1 arch=$2
    fresh "$dir"
    extract "$dir" "libc6:$arch" "busybox-static:$arch"
    busybox_links "$dir"
    rm -rf "$dir/usr/share/doc" "$dir/usr/share/lintian"
}
build_debian_libc_arm64() { debian_libc_root "$CACHE/roots/debian-libc-arm64" arm64; }
build_debian_libc_armhf() {
    debian_libc_root "$CACHE/roots/debian-libc-armhf" armhf
    mkdir -p "$CACHE/roots/debian-libc-armhf/usr/bin"
    cp "$CACHE/bin/hello-armhf-glibc" "$CACHE/roots/debian-libc-armhf/usr/bin/hello"
}

# libc6 2.31 from bullseye, fetched with a private apt state so the host's sources stay as they are.
build_bullseye_libc_amd64() {
    local apt=$CACHE/work/apt-bullseye
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
    : > "$apt/status"  # an empty dpkg status, so the host's newer libc6 is not the candidate
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main" > "$apt/sources.list"
    local opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=-"
        -o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status" -o "Dir::Cache=$apt/cache" -o "APT::Get::List-Cleanup=0"
        -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false" -o "APT::Architectures::=amd64")
    apt-get -q "${opts[@]}" update >&2
    local tmp=$CACHE/work/bullseye-debs
    fresh "$tmp"
    (cd "$tmp" && apt-get -q "${opts[@]}" download libc6:amd64 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
    local dir=$CACHE/roots/bullseye-libc-amd64
    fresh "$dir"
    dpkg-deb -x "$(ls "$tmp"/libc6_2.31*_amd64.deb)" "$dir"
    mkdir -p "$CACHE/debs/bullseye"
    cp "$tmp"/libc6_2.31*_amd64.deb "$CACHE/debs/bullseye/"
    extract "$dir" busybox-static:amd64
    busybox_links "$dir"
    rm -rf "$dir/usr/share/doc" "$dir/usr/share/lintian" "$tmp"
}

# ---------------------------------------------------------------- toolchain (issue: toolchains and CPUs)
# Go with GOAMD64=v3, and Debian's armel (soft-float) libc and busybox.
build_toolchain() {
    (
        cd "$HERE/src/ct"
        CGO_ENABLED=0 GOARCH=amd64 GOAMD64=v3 go build -ldflags="-s -w" -o "$CACHE/bin/go-amd64-v3" .
    )
    if ! dpkg --print-foreign-architectures | grep -qx armel; then
        dpkg --add-architecture armel
        apt-get update -q >&2
    fi
    local dir=$CACHE/roots/debian-libc-armel
    fresh "$dir"
    extract "$dir" libc6:armel busybox-static:armel
    busybox_links "$dir"
    rm -rf "$dir/usr/share/doc" "$dir/usr/share/lintian"
}

# ---------------------------------------------------------------- real Go binaries from the npm registry
# esbuild's arm64 packages ship a Go binary each; two releases bracket the
# toolchain-bugs entries: 0.14.39 was built with go1.18.1 (go-arm64-traceback-hang-1.18),
# 0.6.15 with go1.14.2 (after the go1.14 signal fix: no finding). Pinned by sha256.
ESBUILD_ARM64="0.14.39:84befa4355568f8ac3e9ad8aff59ea434bc92d9ecdba66805a4b37f590a97c0e
0.6.15:366c21f72dc36992326f05b1cb1b90d815efa292b9d129b7eafe6f0bae738971"
build_npm_go_binaries() {
    local w=$CACHE/work/npm entry version sum
    for entry in $ESBUILD_ARM64; do
        version=${entry%%:*} sum=${entry##*:}
        fresh "$w"
        (cd "$w" && npm pack --silent "esbuild-linux-arm64@$version" >/dev/null)
        tar -xzf "$w/esbuild-linux-arm64-$version.tgz" -C "$w" package/bin/esbuild
        echo "$sum  $w/package/bin/esbuild" | sha256sum -c --quiet -
        mv "$w/package/bin/esbuild" "$CACHE/bin/esbuild-$version-arm64"
    done
    rm -rf "$w"
}

# ---------------------------------------------------------------- scenario layers
# Each scenario image = its base root as layer 1 + a small app layer; roots/NAME is the merge.
app_layer() { fresh "$1"; mkdir -p "$1/usr/bin"; }
merge_root() {  # merge_root OUT BASE APP
    fresh "$1"
    cp -a "$2/." "$1/"
    cp -a "$3/." "$1/"
}
PATH_ENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'

build_consul_template() {
    local w=$CACHE/work/consul-template
    app_layer "$w/app-amd64"
    cp "$CACHE/bin/ct-amd64-static" "$w/app-amd64/usr/bin/consul-template"
    app_layer "$w/app-arm64"
    cp "$CACHE/bin/ct-arm64-cgo" "$w/app-arm64/usr/bin/consul-template"
    cat > "$w/spec.json" <<EOF
{"out": "$CACHE/images/consul-template", "tag": "latest", "images": [
 {"platform": {"os": "linux", "architecture": "amd64"},
  "layers": ["$CACHE/roots/alpine-like-amd64", "$w/app-amd64"],
  "env": [$PATH_ENV], "entrypoint": ["/usr/bin/consul-template"]},
 {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
  "layers": ["$CACHE/roots/alpine-like-arm64", "$w/app-arm64"],
  "env": [$PATH_ENV], "entrypoint": ["/usr/bin/consul-template"]}]}
EOF
    python3 "$HERE/oci_layout.py" "$w/spec.json"
    merge_root "$CACHE/roots/consul-template-amd64" "$CACHE/roots/alpine-like-amd64" "$w/app-amd64"
    merge_root "$CACHE/roots/consul-template-arm64" "$CACHE/roots/alpine-like-arm64" "$w/app-arm64"
}

build_tini_static() {
    local w=$CACHE/work/tini-static
    app_layer "$w/app"
    cp "$CACHE/bin/tini-amd64-static" "$w/app/usr/bin/tini"
    cat > "$w/spec.json" <<EOF
{"out": "$CACHE/images/tini-static", "tag": "latest", "images": [
 {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
  "layers": ["$CACHE/roots/debian-libc-arm64", "$w/app"],
  "env": [$PATH_ENV], "entrypoint": ["/usr/bin/tini", "--"], "cmd": ["/bin/sh"]}]}
EOF
    python3 "$HERE/oci_layout.py" "$w/spec.json"
    merge_root "$CACHE/roots/tini-static-arm64" "$CACHE/roots/debian-libc-arm64" "$w/app"
}

build_no_arm64_manifest() {
    local w=$CACHE/work/no-arm64-manifest
    app_layer "$w/app"
    cp "$CACHE/bin/hello-amd64-musl-dynamic" "$w/app/usr/bin/hello"
    cat > "$w/spec.json" <<EOF
{"out": "$CACHE/images/no-arm64-manifest", "tag": "latest", "force_index": true, "images": [
 {"platform": {"os": "linux", "architecture": "amd64"},
  "layers": ["$CACHE/roots/alpine-like-amd64", "$w/app"],
  "env": [$PATH_ENV], "entrypoint": ["/usr/bin/hello"]}]}
EOF
    python3 "$HERE/oci_layout.py" "$w/spec.json"
    merge_root "$CACHE/roots/no-arm64-amd64" "$CACHE/roots/alpine-like-amd64" "$w/app"
}

build_glibc_too_new() {
    local w=$CACHE/work/glibc-too-new
    app_layer "$w/app"
    cp "$CACHE/bin/newglibc-amd64" "$w/app/usr/bin/newglibc"
    cat > "$w/spec.json" <<EOF
{"out": "$CACHE/images/glibc-too-new", "tag": "latest", "images": [
 {"platform": {"os": "linux", "architecture": "amd64"},
  "layers": ["$CACHE/roots/bullseye-libc-amd64", "$w/app"],
  "env": [$PATH_ENV], "entrypoint": ["/usr/bin/newglibc"]}]}
EOF
    python3 "$HERE/oci_layout.py" "$w/spec.json"
    merge_root "$CACHE/roots/glibc-too-new-amd64" "$CACHE/roots/bullseye-libc-amd64" "$w/app"
}

build_bash_on_busybox() {
    local w=$CACHE/work/bash-on-busybox
    fresh "$w/app"
    mkdir -p "$w/app/usr/local/bin"
    printf '#!/bin/bash\nset -euo pipefail\nexec "$@"\n' > "$w/app/usr/local/bin/entrypoint.sh"
    chmod 755 "$w/app/usr/local/bin/entrypoint.sh"
    cat > "$w/spec.json" <<EOF
{"out": "$CACHE/images/bash-on-busybox", "tag": "latest", "images": [
 {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
  "layers": ["$CACHE/roots/debian-libc-arm64", "$w/app"],
  "env": [$PATH_ENV], "entrypoint": ["/usr/local/bin/entrypoint.sh"], "cmd": ["sh"]}]}
EOF
    python3 "$HERE/oci_layout.py" "$w/spec.json"
    merge_root "$CACHE/roots/bash-on-busybox-arm64" "$CACHE/roots/debian-libc-arm64" "$w/app"
}

# Every amd64 program built here in one root with both C libraries, so the oracle's
# verdicts on real toolchain output can be compared with elfgate's.
build_real_binaries_amd64() {
    local dir=$CACHE/roots/real-binaries-amd64
    fresh "$dir"
    extract "$dir" libc6:amd64 musl:amd64
    rm -rf "$dir/usr/share/doc" "$dir/usr/share/lintian"
    mkdir -p "$dir/usr/bin"
    local p
    for p in hello-amd64-glibc hello-amd64-musl-static hello-amd64-musl-dynamic newglibc-amd64 \
        tini-amd64-static ct-amd64-static ct-amd64-cgo usegreet-amd64-glibc useabsent-amd64-glibc \
        useabsent-amd64-musl; do
        cp "$CACHE/bin/$p" "$dir/usr/bin/$p"
    done
    mkdir -p "$dir/usr/lib"
    cp "$CACHE/bin/libgreet-v1.so.1" "$dir/usr/lib/libgreet.so.1"
}

build_archives() {
    rm -f "$CACHE/archives/tini-static.docker.tar" "$CACHE/archives/consul-template.oci.tar"
    skopeo copy -q "oci:$CACHE/images/tini-static:latest" \
        "docker-archive:$CACHE/archives/tini-static.docker.tar:elfgate-fixtures/tini-static:latest"
    skopeo copy -q --all "oci:$CACHE/images/consul-template:latest" \
        "oci-archive:$CACHE/archives/consul-template.oci.tar:latest"
}

# ---------------------------------------------------------------- Debian minbase
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
clean_debootstrap_root() {
    rm -rf "$1/debootstrap" "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*
    rm -rf "$1"/dev/* "$1"/proc/* "$1"/sys/* 2>/dev/null || true
}
build_bookworm_amd64() {
    local dir=$CACHE/roots/bookworm-amd64
    rm -rf "$dir"
    debootstrap --variant=minbase --arch=amd64 bookworm "$dir" "$MIRROR" >"$CACHE/work/debootstrap-amd64.log" 2>&1 ||
        { tail -n 30 "$CACHE/work/debootstrap-amd64.log" >&2; return 1; }
    clean_debootstrap_root "$dir"
}
# First stage only: packages are unpacked but not configured (no arm64 emulation needed);
# every file a package ships is in place, maintainer scripts have not run. The one thing
# those scripts would add that matters here, the update-alternatives links (/usr/bin/awk
# and the like), is copied from the configured amd64 root where the target exists.
build_bookworm_arm64() {
    local dir=$CACHE/roots/bookworm-arm64 ref=$CACHE/roots/bookworm-amd64
    rm -rf "$dir"
    debootstrap --variant=minbase --foreign --arch=arm64 bookworm "$dir" "$MIRROR" >"$CACHE/work/debootstrap-arm64.log" 2>&1 ||
        { tail -n 30 "$CACHE/work/debootstrap-arm64.log" >&2; return 1; }
    clean_debootstrap_root "$dir"
    local link target
    while IFS= read -r link; do
        target=$(readlink "$ref/$link")
        if [ ! -e "$dir/$link" ] && [ ! -L "$dir/$link" ] && [ -e "$dir/${target#/}" ] && [ -d "$(dirname "$dir/$link")" ]; then
            ln -s "$target" "$dir/$link"
        fi
    done < <(cd "$ref" && find etc/alternatives -type l)
    while IFS= read -r link; do
        target=$(readlink "$ref/$link")
        if [ ! -e "$dir/$link" ] && [ ! -L "$dir/$link" ] && [ -L "$dir/${target#/}" ] && [ -d "$(dirname "$dir/$link")" ]; then
            ln -s "$target" "$dir/$link"
        fi
    done < <(cd "$ref" && find . -path ./etc/alternatives -prune -o -type l -lname '/etc/alternatives/*' -print)
}
build_bookworm_image() {
    cat > "$CACHE/work/bookworm-spec.json" <<EOF
{"out": "$CACHE/images/bookworm-minbase", "tag": "latest", "images": [
 {"platform": {"os": "linux", "architecture": "amd64"},
  "layers": ["$CACHE/roots/bookworm-amd64"], "env": [$PATH_ENV], "cmd": ["bash"]},
 {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
  "layers": ["$CACHE/roots/bookworm-arm64"], "env": [$PATH_ENV], "cmd": ["bash"]}]}
EOF
    python3 "$HERE/oci_layout.py" "$CACHE/work/bookworm-spec.json"
}

# ---------------------------------------------------------------- oracle
# NAME:ARCH:PRODUCER — the root, its architecture, and the step that writes it.
ORACLE_ROOTS="alpine-like-amd64:amd64:alpine-like-amd64 alpine-like-arm64:arm64:alpine-like-arm64
debian-libc-arm64:arm64:debian-libc-arm64 debian-libc-armhf:armhf:debian-libc-armhf
bullseye-libc-amd64:amd64:bullseye-libc-amd64 consul-template-amd64:amd64:consul-template
consul-template-arm64:arm64:consul-template tini-static-arm64:arm64:tini-static
no-arm64-amd64:amd64:no-arm64-manifest glibc-too-new-amd64:amd64:glibc-too-new
bash-on-busybox-arm64:arm64:bash-on-busybox real-binaries-amd64:amd64:real-binaries-amd64"
ORACLE_NAME= ORACLE_ARCH=
oracle_one() {
    local name=$ORACLE_NAME arch=$ORACLE_ARCH
    python3 "$HERE/oracle.py" --qemu-dir "$CACHE/tools/qemu" --summary "$CACHE/oracle/$name.summary" \
        "$CACHE/roots/$name" "$arch" > "$CACHE/oracle/$name.jsonl"
}

main() {
    local t_start=$SECONDS
    step qemu-static fetch_qemu_static
    step programs build_programs "$HERE"/src/*.c "$HERE"/src/*.map "$HERE"/src/ct/*
    step toolchain build_toolchain "$HERE"/src/ct/*
    step npm-go-binaries build_npm_go_binaries
    step alpine-like-amd64 build_alpine_like_amd64
    step alpine-like-arm64 build_alpine_like_arm64
    step debian-libc-arm64 build_debian_libc_arm64
    step debian-libc-armhf build_debian_libc_armhf "$CACHE/stamps/programs"
    step bullseye-libc-amd64 build_bullseye_libc_amd64
    local deps=("$HERE/oci_layout.py" "$CACHE/stamps/programs")
    step consul-template build_consul_template "${deps[@]}" "$CACHE/stamps/alpine-like-amd64" "$CACHE/stamps/alpine-like-arm64"
    step tini-static build_tini_static "${deps[@]}" "$CACHE/stamps/debian-libc-arm64"
    step no-arm64-manifest build_no_arm64_manifest "${deps[@]}" "$CACHE/stamps/alpine-like-amd64"
    step glibc-too-new build_glibc_too_new "${deps[@]}" "$CACHE/stamps/bullseye-libc-amd64"
    step bash-on-busybox build_bash_on_busybox "${deps[@]}" "$CACHE/stamps/debian-libc-arm64"
    step real-binaries-amd64 build_real_binaries_amd64 "$CACHE/stamps/programs"
    step archives build_archives "$CACHE/stamps/tini-static" "$CACHE/stamps/consul-template"
    local roots=$ORACLE_ROOTS
    if [ "${ELFGATE_SKIP_DEBOOTSTRAP:-0}" != 1 ]; then
        step bookworm-amd64 build_bookworm_amd64
        step bookworm-arm64 build_bookworm_arm64 "$CACHE/stamps/bookworm-amd64"
        step bookworm-image build_bookworm_image "$HERE/oci_layout.py" "$CACHE/stamps/bookworm-amd64" "$CACHE/stamps/bookworm-arm64"
        roots="$roots bookworm-amd64:amd64:bookworm-amd64 bookworm-arm64:arm64:bookworm-arm64"
    fi
    local entry
    for entry in $roots; do
        IFS=: read -r ORACLE_NAME ORACLE_ARCH producer <<<"$entry"
        step "oracle-$ORACLE_NAME" oracle_one "$HERE/oracle.py" "$CACHE/stamps/qemu-static" "$CACHE/stamps/$producer"
    done
    rm -rf "$CACHE/work/consul-template" "$CACHE/work/tini-static" "$CACHE/work/no-arm64-manifest" \
        "$CACHE/work/glibc-too-new" "$CACHE/work/bash-on-busybox"
    log "done in $((SECONDS - t_start))s"
    for entry in $roots; do
        printf '%-24s %s\n' "${entry%%:*}" "$(cat "$CACHE/oracle/${entry%%:*}.summary")" >&2
    done
    echo "$CACHE"
}

main
