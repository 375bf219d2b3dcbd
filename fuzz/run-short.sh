#!/usr/bin/env bash
# A short, bounded fuzz run of every target, for CI: installs cargo-fuzz when
# it is missing, builds the targets (libFuzzer with AddressSanitizer; the
# stable toolchain is told to accept the sanitizer flags with
# RUSTC_BOOTSTRAP=1), seeds the corpora from the fixtures, then runs each
# target for FUZZ_SECONDS (default 15) one after the other on one core.
# A crash, a timeout or running out of memory fails the run; the input is
# left in fuzz/artifacts/TARGET/ and the fuzzer's log is printed.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-15}
targets=${FUZZ_TARGETS:-elf_facts toolchain_blobs layer_reader fs_resolve image_json ld_so_cache ld_so_conf dockerfile webhook}

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
SECONDS=0
cargo fuzz build -O
echo "fuzz: built in ${SECONDS}s"
bash seed.sh
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
for t in $targets; do
    echo "fuzz: $t for ${seconds}s"
    SECONDS=0
    status=0
    cargo fuzz run -O "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 >"$logs/$t" 2>&1 || status=$?
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$logs/$t" || true
    echo "fuzz: $t done in ${SECONDS}s"
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$logs/$t" >&2
        echo "fuzz: $t failed (exit $status); the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
done
echo "fuzz: all targets ran clean"
