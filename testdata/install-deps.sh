#!/bin/sh
# Installs the Debian (bookworm) packages that the fixture scripts and the
# integration tests need. Run as root; needs no TTY. Idempotent: it installs
# only what is missing and runs `apt-get update` at most once per call (plus
# once more if it had to enable the arm64/armhf architectures).
#
# Package notes:
# - qemu-user ships /usr/bin/qemu-aarch64 and /usr/bin/qemu-arm, which the
#   oracle runs as `qemu-aarch64 -L ROOT ROOT/lib/ld-linux-aarch64.so.1 ...`.
#   qemu-user-static would ship the same emulators named *-static; binfmt
#   registration is not needed by anything here.
# - docker-registry is Debian's packaging of the distribution registry,
#   started by the registry tests on 127.0.0.1.
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: must run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# nodejs: the machines' Node.js package already bundles npm (Debian's separate
# npm package conflicts with it), so npm is not listed.
PACKAGES="
gcc
libc6-dev
gcc-aarch64-linux-gnu
gcc-arm-linux-gnueabihf
libc6-dev-arm64-cross
libc6-dev-armhf-cross
musl-tools
golang-go
qemu-user
skopeo
umoci
debootstrap
docker-registry
zstd
pigz
binutils
python3
python3-pip
jq
git
nodejs
time
ca-certificates
apache2-utils
openssl
"

updated=no
update_once() {
    if [ "$updated" = no ]; then
        apt-get update -q
        updated=yes
    fi
}

# Foreign architectures, so that `apt-get download libc6:arm64` works.
added_arch=no
for arch in arm64 armhf; do
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        dpkg --add-architecture "$arch"
        added_arch=yes
    fi
done
if [ "$added_arch" = yes ]; then
    update_once
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$status" != installed ]; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    update_once
    # shellcheck disable=SC2086 # word splitting of the package list is wanted
    apt-get install -y -q --no-install-recommends $missing
else
    echo "install-deps.sh: all packages already installed"
fi

# Package lists for the foreign architectures must exist for `apt-get download`.
if ! apt-cache show libc6:arm64 >/dev/null 2>&1 || ! apt-cache show libc6:armhf >/dev/null 2>&1; then
    update_once
fi

# The real consumers the CI-output tests (tests/elfgate/ci.rs) hand elfgate's
# reports to: Microsoft's SARIF validator (a .NET program packaged for npm;
# it runs offline once installed), and from PyPI junitparser (reads the JUnit
# XML back) and pre-commit (runs .pre-commit-hooks.yaml). The npm package
# goes into ~/.cache/elfgate-tools, where the tests look for it.
TOOLS="${HOME}/.cache/elfgate-tools"
mkdir -p "$TOOLS"
if [ ! -x "$TOOLS/node_modules/.bin/sarif-multitool" ]; then
    (cd "$TOOLS" && npm install --no-audit --no-fund @microsoft/sarif-multitool@^5.7.0)
fi
if ! python3 -c 'import junitparser' 2>/dev/null || ! command -v pre-commit >/dev/null 2>&1; then
    # Debian's own python3 refuses a plain pip install (PEP 668); elsewhere it works.
    python3 -m pip install -q junitparser pre-commit ||
        python3 -m pip install -q --break-system-packages junitparser pre-commit
fi
