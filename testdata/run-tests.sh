#!/usr/bin/env bash
# The one test command: installs the system packages the tests need (as root,
# through apt-get), builds the heavy fixtures into a cache outside the
# checkout (reused when present), and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash testdata/install-deps.sh
bash testdata/build-fixtures.sh
cargo test --all-targets "$@"
