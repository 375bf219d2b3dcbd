#!/usr/bin/env bash
# A short, bounded fuzz run of every target, for CI: builds the targets
# (cargo-fuzz with libFuzzer; the stable toolchain is told to accept the
# sanitizer flags with RUSTC_BOOTSTRAP=1), seeds the corpora from the
# fixtures, then runs each target for FUZZ_SECONDS (default 20) one after the
# other: 7 targets, 140 s of fuzzing in all, plus the build. A crash fails
# the run and leaves its input in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-20}
targets="elf_facts layer_reader fs_resolve image_json ld_so_cache ld_so_conf dockerfile"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
bash seed.sh
for t in $targets; do
    echo "fuzz: $t for ${seconds}s"
    cargo fuzz run -O "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 2>&1 | grep -E '^(stat::number_of_executed_units|==[0-9]+==|SUMMARY|Done)' || true
    if ls "artifacts/$t"/crash-* "artifacts/$t"/oom-* "artifacts/$t"/timeout-* >/dev/null 2>&1; then
        echo "fuzz: $t found a failing input:" >&2
        ls "artifacts/$t" >&2
        exit 1
    fi
done
echo "fuzz: all targets ran clean"
