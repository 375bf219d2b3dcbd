#!/usr/bin/env bash
# elfgate's benchmark suite: elfgate against the decompression floor and the
# tools a user would run instead, side by side in one run.
#
#   bench/run.sh [SECTION...]     sections: elfgate floor scanelf syft scaling threads small
#                                 (default: all of them, in that order)
#
# Environment:
#   IMAGES     the workload's images directory (default: ~/.cache/elfgate-bench/images,
#              or $CACHE/images); see bench/README.md for how it is built
#   RUNS       runs per measurement; the median is reported (default 3)
#   SLOW_RUNS  runs for the slow baselines, scanelf and syft (default: RUNS)
#   ELFGATE    the elfgate binary (default: built with `cargo build --release`)
#   WORK       scratch space for decompressed tars and extracted trees
#              (default: a temporary directory; needs ~8 GB)
#
# Each measurement runs under `/usr/bin/time -v`: wall time is the median of
# the runs, peak RSS the largest "maximum resident set size" seen (for a
# pipeline, that of its largest process). Ratios are to elfgate's cold scan of
# the large image measured in the same run; absolute times only compare within
# one machine. Tools: bench/setup.sh installs pigz, scanelf, GNU time and syft.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CACHE=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/elfgate-bench}
IMAGES=${IMAGES:-$CACHE/images}
RUNS=${RUNS:-3}
SLOW_RUNS=${SLOW_RUNS:-$RUNS}
SECTIONS=("$@")
[ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(elfgate floor scanelf syft scaling threads small)

die() { echo "bench: $*" >&2; exit 2; }
want() { local s; for s in "${SECTIONS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
have() { command -v "$1" >/dev/null 2>&1; }

[ -d "$IMAGES/big" ] || die "no workload in $IMAGES (build it first: see bench/README.md)"
[ -x /usr/bin/time ] || die "GNU time is missing: run bench/setup.sh"
have jq || die "jq is missing"
PATH=$PATH:$HOME/.local/bin
export SYFT_CHECK_FOR_APP_UPDATE=false

if [ -z "${ELFGATE:-}" ]; then
  # zlib-ng inflates gzip faster than the default zlib-rs; it needs cmake.
  features=()
  if have cmake; then features=(--features zlib-ng); fi
  (cd "$ROOT" && cargo build --release --quiet "${features[@]}") || die "cargo build --release failed"
  ELFGATE=$ROOT/target/release/elfgate
fi
[ -x "$ELFGATE" ] || die "ELFGATE=$ELFGATE is not executable"

if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/elfgate-bench.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
RESULTS=$WORK/results.tsv
SMALL=()
: > "$RESULTS"

# ------------------------------------------------------------------ OCI layout helpers

# Manifest digests of a layout's tag (an index is followed one level down),
# one per line.
manifests() {  # LAYOUT [TAG]
  local layout=$1 tag=${2:-} sel d mt
  if [ -n "$tag" ]; then
    sel='.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)'
  else
    sel='.manifests[]'
  fi
  jq -r --arg t "$tag" "$sel | \"\\(.mediaType) \\(.digest)\"" "$layout/index.json" |
    while read -r mt d; do
      if [[ $mt == *index* ]]; then
        jq -r '.manifests[] | "\(.mediaType) \(.digest)"' "$layout/blobs/${d/://}" |
          while read -r mt2 d2; do [[ $mt2 == *index* ]] || echo "$d2"; done
      else
        echo "$d"
      fi
    done
}

# Layer blob paths of a layout's tag, every distinct blob once, bottom first.
layer_blobs() {  # LAYOUT [TAG]
  local layout=$1 m
  for m in $(manifests "$@"); do
    jq -r '.layers[].digest' "$layout/blobs/${m/://}"
  done | awk '!seen[$0]++' | sed "s#^sha256:#$layout/blobs/sha256/#"
}

bytes_of() { stat -L -c %s "$@" | awk '{s += $1} END {print s + 0}'; }

# ------------------------------------------------------------------ measuring

median() {
  sort -g | awk '{a[NR] = $1} END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# measure NAME WHAT RUNS CMD...: runs CMD (through bash -c when it is one
# string) RUNS times and records the median wall time and the peak RSS.
measure() {
  local name=$1 what=$2 runs=$3; shift 3
  local i t0 t1 rss times=() cpus=() peak=0 log=$WORK/time.log status
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s.%N)
    status=0
    /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$WORK/stderr" || status=$?
    t1=$(date +%s.%N)
    # elfgate exits 1 when it has findings: that is a result, not a failure.
    if [ "$status" -gt 1 ] || ! grep -q 'Maximum resident' "$log"; then
      echo "bench: $name failed (exit $status):" >&2
      tail -5 "$WORK/stderr" >&2
      printf '%s\t%s\tfailed\t-\t-\n' "$name" "$what" >> "$RESULTS"
      return 0
    fi
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$log")
    [ "$rss" -gt "$peak" ] && peak=$rss
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    cpus+=("$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$log")")
  done
  local median cpu
  median=$(printf '%s\n' "${times[@]}" | median)
  cpu=$(printf '%s\n' "${cpus[@]}" | median)
  printf '%s\t%s\t%.2f\t%.2f\t%d\n' "$name" "$what" "$median" "$cpu" "$((peak / 1024))" >> "$RESULTS"
  printf '  %-28s %8.2f s %8.2f s cpu %6d MiB\n' "$name" "$median" "$cpu" "$((peak / 1024))" >&2
}

note() { printf '%s\t%s\t%s\t-\t-\n' "$1" "$2" "$3" >> "$RESULTS"; echo "  $1: $3" >&2; }

# One shell word for bash -c.
q() { printf '%q' "$1"; }

BIG=$IMAGES/big
mapfile -t BIG_LAYERS < <(layer_blobs "$BIG" latest)
[ ${#BIG_LAYERS[@]} -gt 0 ] || die "no layers found in $BIG (tag latest)"
echo "workload: $BIG: ${#BIG_LAYERS[@]} distinct layers, $(( $(bytes_of "${BIG_LAYERS[@]}") / 1000000 )) MB compressed" >&2
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) memory; $RUNS runs ($SLOW_RUNS for scanelf/syft)" >&2

# Warm the page cache so that the first measurement pays no disk reads.
cat "${BIG_LAYERS[@]}" > /dev/null

# Cold scans must not read (or fill) the layer cache.
NOCACHE=""
if "$ELFGATE" scan --help 2>/dev/null | grep -q -- '--no-cache'; then NOCACHE=--no-cache; fi
scan() { echo "$(q "$ELFGATE") scan --format json $NOCACHE $*"; }
warm() { echo "$(q "$ELFGATE") scan --format json $*"; }

# ------------------------------------------------------------------ sections

if want elfgate; then
  echo "elfgate" >&2
  measure "elfgate cold" "scan big (amd64+arm64), gzip" "$RUNS" bash -c "$(scan "oci:$(q "$BIG"):latest")"
  if [ -d "$IMAGES/big-zstd" ]; then
    measure "elfgate cold zstd" "scan big (amd64+arm64), zstd" "$RUNS" bash -c "$(scan "oci:$(q "$IMAGES/big-zstd"):latest")"
  fi
  if "$ELFGATE" scan --help 2>/dev/null | grep -q -- '--cache-dir'; then
    rm -rf "$WORK/cache"
    "$ELFGATE" scan --format json --cache-dir "$WORK/cache" "oci:$BIG:latest" > /dev/null || true
    measure "elfgate warm" "re-scan big, all layers cached" "$RUNS" \
      bash -c "$(warm "--cache-dir $(q "$WORK/cache") oci:$(q "$BIG"):latest")"
  else
    note "elfgate warm" "re-scan big, all layers cached" "n/a (no cache yet)"
  fi
fi

if want floor; then
  echo "floor" >&2
  gz_all=""
  pigz_all=""
  for l in "${BIG_LAYERS[@]}"; do
    gz_all+="gzip -dc $(q "$l") > /dev/null; "
    pigz_all+="pigz -dc $(q "$l") > /dev/null; "
  done
  measure "gzip -dc" "decompress every layer, one after another" "$RUNS" bash -c "set -e; $gz_all"
  if have pigz; then
    measure "pigz -dc" "the same with pigz" "$RUNS" bash -c "set -e; $pigz_all"
  fi
  # The tar walk reads already decompressed streams: its cost alone.
  mkdir -p "$WORK/tars"
  walk=""
  for l in "${BIG_LAYERS[@]}"; do
    t=$WORK/tars/$(basename "$l").tar
    [ -s "$t" ] || gzip -dc "$l" > "$t"
    walk+="tar -tvf $(q "$t") > /dev/null; "
  done
  measure "tar -tv" "list the decompressed tars (no decompression)" "$RUNS" bash -c "set -e; $walk"
  rm -rf "$WORK/tars"
fi

# Extract one platform's layers in order into DIR and run scanelf on it.
extract_scan() {  # LAYOUT TAG DIR
  local layout=$1 tag=$2 dir=$3 l
  rm -rf "$dir"; mkdir -p "$dir"
  for l in $(layer_blobs "$layout" "$tag"); do
    tar -xzf "$l" -C "$dir" --no-same-owner --delay-directory-restore 2>/dev/null || true
  done
  scanelf -R -n -i -r "$dir"
  rm -rf "$dir"
}
export -f extract_scan layer_blobs manifests

if want scanelf; then
  echo "extract + scanelf" >&2
  if have scanelf; then
    measure "tar -x + scanelf -R" "extract each platform's layers, scanelf the tree" "$SLOW_RUNS" \
      bash -c "set -e; extract_scan $(q "$BIG") amd64 $(q "$WORK/x"); extract_scan $(q "$BIG") arm64 $(q "$WORK/x")"
  else
    note "tar -x + scanelf -R" "extract, scanelf the tree" "n/a (no scanelf: bench/setup.sh)"
  fi
fi

if want syft; then
  echo "syft" >&2
  if have syft && [ -d "$IMAGES/big-amd64" ] && [ -d "$IMAGES/big-arm64" ]; then
    syft_both() {
      echo "set -e; for p in amd64 arm64; do syft scan -q -o json $* oci-dir:$(q "$IMAGES")/big-\$p > /dev/null; done"
    }
    measure "syft" "default catalogers, both platforms" "$SLOW_RUNS" bash -c "$(syft_both)"
    measure "syft binary" "--select-catalogers binary, both platforms" "$SLOW_RUNS" \
      bash -c "$(syft_both --select-catalogers binary)"
  else
    note "syft" "default catalogers" "n/a (no syft or no big-amd64/big-arm64: bench/setup.sh)"
  fi
fi

if want scaling; then
  echo "scaling (amd64)" >&2
  for img in big-quarter big-half big-amd64; do
    [ -d "$IMAGES/$img" ] || continue
    mb=$(( $(bytes_of $(layer_blobs "$IMAGES/$img")) / 1000000 ))
    measure "elfgate $img" "scan $img ($mb MB gzip)" "$RUNS" bash -c "$(scan "oci:$(q "$IMAGES/$img")")"
  done
fi

if want threads; then
  echo "threads" >&2
  measure "elfgate 1 thread" "RAYON_NUM_THREADS=1, big" "$RUNS" \
    env RAYON_NUM_THREADS=1 bash -c "$(scan "oci:$(q "$BIG"):latest")"
  measure "elfgate 2 threads" "RAYON_NUM_THREADS=2, big" "$RUNS" \
    env RAYON_NUM_THREADS=2 bash -c "$(scan "oci:$(q "$BIG"):latest")"
fi

if want small && [ -d "$IMAGES/small" ]; then
  echo "small images" >&2
  mapfile -t SMALL < <(find "$IMAGES/small" -mindepth 1 -maxdepth 1 -type d | sort)
  args=""
  for s in "${SMALL[@]}"; do args+=" oci:$(q "$s")"; done
  measure "elfgate small x${#SMALL[@]}" "${#SMALL[@]} small images, one process" "$RUNS" bash -c "$(scan "$args")"
  each="set -e; for s in"
  for s in "${SMALL[@]}"; do each+=" $(q "$s")"; done
  each+="; do $(q "$ELFGATE") scan --format json $NOCACHE oci:\$s > /dev/null || [ \$? = 1 ]; done"
  measure "elfgate small x${#SMALL[@]} procs" "${#SMALL[@]} small images, a process each" "$RUNS" bash -c "$each"
fi

# ------------------------------------------------------------------ table

awk -F'\t' -v small="${#SMALL[@]}" '
  { name[NR] = $1; what[NR] = $2; secs[NR] = $3; cpu[NR] = $4; rss[NR] = $5 }
  $1 == "elfgate cold" && $3 ~ /^[0-9.]+$/ { base = $3; basecpu = $4 }
  END {
    printf "\n%-26s %-48s %9s %9s %9s %8s %8s\n", "tool", "what it does", "median s", "cpu s", "peak MiB", "ratio", "cpu ratio"
    for (i = 1; i <= NR; i++) {
      ratio = "-"; cratio = "-"
      if (base > 0 && secs[i] ~ /^[0-9.]+$/) ratio = sprintf("%.2fx", secs[i] / base)
      if (basecpu > 0 && cpu[i] ~ /^[0-9.]+$/) cratio = sprintf("%.2fx", cpu[i] / basecpu)
      extra = ""
      if (name[i] ~ /^elfgate small/ && secs[i] > 0) extra = sprintf("  (%.1f images/s)", small / secs[i])
      printf "%-26s %-48s %9s %9s %9s %8s %8s%s\n", name[i], what[i], secs[i], cpu[i], rss[i], ratio, cratio, extra
    }
    print "ratio: median wall time / elfgate cold median wall time, same run; cpu: user + system seconds (median)"
  }' "$RESULTS"
