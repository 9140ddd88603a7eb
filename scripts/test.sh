#!/usr/bin/env bash
# All of Shimin Desk's checks and tests: formatting, clippy, every test of the workspace
# (unit, property, and end-to-end against a real server on loopback), and the benchmark suite
# at smoke size. Installs what is missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
