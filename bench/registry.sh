#!/usr/bin/env bash
# Registry against local layout: one image scanned from its OCI layout and
# from a real registry on loopback (Debian's docker-registry, plain http),
# cold (no cache) and warm (every layer cached).
#
#   bench/registry.sh [LAYOUT[:TAG]]
#
# LAYOUT defaults to the largest test fixture, the two-platform Debian
# bookworm minbase image that testdata/build-fixtures.sh builds. Needs
# docker-registry and skopeo (testdata/install-deps.sh installs both).
# Environment: RUNS (default 5), ELFGATE (default: cargo build --release).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RUNS=${RUNS:-5}
FIXTURES=${ELFGATE_FIXTURES:-$HOME/.cache/elfgate-fixtures}
SOURCE=${1:-$FIXTURES/images/bookworm-minbase:latest}
LAYOUT=${SOURCE%:*}
TAG=${SOURCE##*:}
[ "$LAYOUT" != "$SOURCE" ] || TAG=latest
[ -f "$LAYOUT/index.json" ] || { echo "registry.sh: no OCI layout at $LAYOUT" >&2; exit 2; }

if [ -z "${ELFGATE:-}" ]; then
  (cd "$ROOT" && cargo build --release --quiet)
  ELFGATE=$ROOT/target/release/elfgate
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/elfgate-registry-bench.XXXXXX")
REGISTRY_PID=
cleanup() {
  [ -z "$REGISTRY_PID" ] || kill "$REGISTRY_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$WORK/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/data
http:
  addr: 127.0.0.1:$PORT
EOF
/usr/bin/docker-registry serve "$WORK/config.yml" > "$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done
REF=127.0.0.1:$PORT/bench/image:latest
skopeo copy --quiet --all --dest-tls-verify=false "oci:$LAYOUT:$TAG" "docker://$REF"

# median of RUNS wall times of "$@", in seconds
median_of() {
  local i t0 t1 times=()
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s.%N)
    "$@" > /dev/null || [ $? = 1 ]
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

scan=("$ELFGATE" scan --quiet --format json)
layout=$(median_of "${scan[@]}" --no-cache "oci:$LAYOUT:$TAG")
registry=$(median_of "${scan[@]}" --no-cache --insecure "$REF")
"${scan[@]}" --cache-dir "$WORK/cache" --insecure "$REF" > /dev/null || [ $? = 1 ]
warm=$(median_of "${scan[@]}" --cache-dir "$WORK/cache" --insecure "$REF")
warm_layout=$(median_of "${scan[@]}" --cache-dir "$WORK/cache" "oci:$LAYOUT:$TAG")

mb=$(du -sm "$LAYOUT/blobs" | cut -f1)
printf '%s (%s MB of blobs), median of %s runs, %s cores, load %s\n' \
  "$LAYOUT:$TAG" "$mb" "$RUNS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
printf '  %-34s %7.2f s\n' "OCI layout, no cache" "$layout" \
  "registry (loopback), no cache" "$registry" \
  "registry, warm cache" "$warm" \
  "OCI layout, warm cache" "$warm_layout"
awk -v r="$registry" -v l="$layout" -v w="$warm" \
  'BEGIN {printf "  registry / layout: %.2fx; warm registry / cold registry: %.1f%%\n", r / l, 100 * w / r}'
