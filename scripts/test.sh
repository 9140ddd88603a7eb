#!/usr/bin/env bash
# All of Shimin Desk's checks and tests: formatting, the UI's type check and unit tests
# (Vitest), clippy, every test of the workspace (unit, property, end-to-end against a real
# server on loopback, and the desk app's real window under Xvfb over WebDriver, with a real
# notification daemon and keyring), the server's, client's and end-to-end suites a second time
# on PostgreSQL (Debian's package, a throwaway cluster on a loopback port, scripts/pg.sh), and
# the benchmark suite at smoke size, and both Debian packages (debug builds), installed into
# clean Debian 12 roots (scripts/clean-root.sh: the server under systemd in a container, the desk
# app started under Xvfb, updated by the server to a build one version up, and logged in). Installs
# what is missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
shimin_step() { echo "== $(date -u +%H:%M:%S) $*"; } # each step with its start (where the minutes go)
shimin_step "setup"
source scripts/setup.sh

shimin_step "cargo fmt --check"
cargo fmt --all --check
shimin_step "ui: type check, build (embedded into the desk app), Vitest"
shimin_build_ui
(cd ui && npm test --silent)
# Clippy lints the workspace's crates while they are compiled for the tests: clippy-driver as the
# workspace's rustc wrapper, with `cargo clippy -- -D warnings`'s own way of passing the flag. A
# separate `cargo clippy` would check every dependency a second time (check builds share nothing
# with test builds): ~12 minutes of a cold run on 2 cores. The workspace has no benches or
# examples, so the test build's targets are `--all-targets`'s. Every cargo command below (and in
# the scripts it runs) inherits this, so they all reuse one build.
export RUSTC_WORKSPACE_WRAPPER="${RUSTC_WORKSPACE_WRAPPER-$(command -v clippy-driver || true)}"
# An empty wrapper would build without linting, silently.
[ -n "$RUSTC_WORKSPACE_WRAPPER" ] || { echo "clippy-driver not found (rustup component add clippy)" >&2; exit 1; }
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
source scripts/pg.sh
shimin_pg_start
trap shimin_pg_stop EXIT
shimin_step "cargo test, linted by clippy (SQLite; the benchmark smoke run also measures PostgreSQL and two instances)"
SHIMIN_TEST_DATABASE="" SHIMIN_BENCH_POSTGRES="$SHIMIN_PG_URL" cargo test --workspace --locked
shimin_step "on PostgreSQL: the server's, the client's and the end-to-end suites again"
# The `it` binaries the pass above built, run again (from their package directory, as cargo
# runs them). Not `cargo test --test it`: selecting fewer targets unifies dependency features
# differently and would rebuild much of the dependency tree.
shimin_it_binaries() {
  SHIMIN_TEST_DATABASE="" SHIMIN_BENCH_POSTGRES="$SHIMIN_PG_URL" \
    cargo test --workspace --locked --no-run --message-format=json-render-diagnostics |
    python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "it" and m.get("executable"):
        print(os.path.dirname(m["manifest_path"]) + "\t" + m["executable"])
'
}
mapfile -t shimin_its < <(shimin_it_binaries)
((${#shimin_its[@]} >= 4)) || { echo "expected the it suites of 4 crates, found ${#shimin_its[@]}" >&2; exit 1; }
for entry in "${shimin_its[@]}"; do
  dir="${entry%%$'\t'*}"
  exe="${entry#*$'\t'}"
  echo "-- $(basename "$dir")/tests/it on PostgreSQL"
  (cd "$dir" && SHIMIN_TEST_DATABASE="$SHIMIN_PG_URL" "$exe")
done
shimin_step "both Debian packages (installer/build.sh --debug: no second, release build)"
# The packages take the binaries the tests above ran (the Tauri CLI only bundles the app: a
# build of its own would resolve features differently and compile much of the tree again).
shimin_target="${CARGO_TARGET_DIR:-target}"
SHIMIN_DESK_PREBUILT=1 SHIMIN_SERVER_BINARY="$shimin_target/debug/shimin-server" bash installer/build.sh --debug
shimin_version="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "shimin-desk"))')"
shimin_deb="$shimin_target/debug/bundle/deb/shimin-desk_${shimin_version}_amd64.deb"
shimin_server_deb="$shimin_target/debug/bundle/deb/shimin-server_${shimin_version}_amd64.deb"
shimin_deb_dir="$(mktemp -d)"
dpkg-deb -x "$shimin_deb" "$shimin_deb_dir"
shimin_depends="$(dpkg-deb --field "$shimin_deb" Depends)"
[[ "$shimin_depends" == *libwebkit2gtk-4.1-0* ]] || { echo "package without its WebKitGTK dependency: $shimin_depends" >&2; exit 1; }
test -x "$shimin_deb_dir/usr/bin/shimin-desk" || { echo "package without the app binary" >&2; exit 1; }
grep -q "^Categories=Office;" "$shimin_deb_dir"/usr/share/applications/*.desktop || { echo "package without its menu entry" >&2; exit 1; }
dpkg-deb --ctrl-tarfile "$shimin_deb" | tar -xO ./conffiles | grep -qx /etc/shimin-desk/settings.toml ||
  { echo "desk package without its machine-wide settings conffile" >&2; exit 1; }
rm -rf "$shimin_deb_dir"
echo "packages built: $shimin_deb $shimin_server_deb"
shimin_step "the desk package one version up (scripts/desk-deb-at-version.sh), for the update test"
shimin_next_deb="$(bash scripts/desk-deb-at-version.sh "${shimin_version%.*}.$((${shimin_version##*.} + 1))" \
  "$shimin_target/clean-root/next")"
shimin_step "the packages in clean Debian 12 roots (scripts/clean-root.sh)"
bash scripts/clean-root.sh "$shimin_server_deb" "$shimin_deb" "$shimin_next_deb" "$shimin_target/debug/shimin-server" \
  "$shimin_target/clean-root"
shimin_step "all checks and tests passed"
