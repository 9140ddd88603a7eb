#!/usr/bin/env bash
# All of Shimin Desk's checks and tests: formatting, the UI's type check and unit tests
# (Vitest), clippy, every test of the workspace (unit, property, end-to-end against a real
# server on loopback, and the desk app's real window under Xvfb over WebDriver, with a real
# notification daemon and keyring), and the benchmark suite at smoke size. Installs what is
# missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== ui: type check, build (embedded into the desk app), Vitest"
shimin_build_ui
(cd ui && npm test --silent)
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
