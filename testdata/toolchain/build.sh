#!/bin/bash
# Builds the small committed fixtures of testdata/toolchain/ (README.md lists
# each one and where it comes from). Needs aarch64-linux-gnu-gcc,
# arm-linux-gnueabihf-gcc, python3, and network access to Debian's archive
# for the armel libc (apt-get download libc6:armel).
# The large fixtures (Go programs, Debian's armel libc and busybox) are built
# into the fixture cache by testdata/build-fixtures.sh (step toolchain).
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# arm64, linked for 4 KiB pages only: PT_LOAD offset and address agree
# modulo 4096, not modulo 65536.
aarch64-linux-gnu-gcc -Os -Wl,-z,max-page-size=4096 -Wl,-z,common-page-size=4096 \
    -o aarch64-maxpage4k hello.c
aarch64-linux-gnu-strip aarch64-maxpage4k

# armel (soft-float EABI5, interpreter /lib/ld-linux.so.3), linked against
# Debian bookworm's libc6:armel; no crt files, so no armel toolchain is needed.
if ! dpkg --print-foreign-architectures | grep -qx armel; then
    dpkg --add-architecture armel
    apt-get update -qq
fi
(cd "$work" && apt-get download -qq libc6:armel && dpkg-deb -x libc6_*_armel.deb root)
armlib="$work/root/lib/arm-linux-gnueabi"
arm-linux-gnueabihf-gcc -Os -mfloat-abi=soft -march=armv5te -marm -nostdlib -no-pie -fno-pic \
    -Wl,--dynamic-linker=/lib/ld-linux.so.3 -Wl,-rpath-link,"$armlib" \
    -o armel-hello armel-start.c "$armlib/libc.so.6"
arm-linux-gnueabihf-strip armel-hello

# The synthetic ones (Go build info of old releases, Rust compiler traces).
python3 synth.py .
chmod +x go1.13-arm64 go1.18.3-arm64 rust1.55-commit-arm64 rust-auditable-jemalloc-arm64
