#!/usr/bin/env bash
# Builds the desk's .deb (debug profile) as if this tree were released at VERSION, so that the
# clean-root test can publish a genuinely newer desk and see the installed one update itself to
# it (issue 15). The app takes its version from SHIMIN_DESK_VERSION at build time (src-tauri's
# build.rs), so only the desk crate is compiled again — with the same feature resolution as the
# workspace's tests, whose build this reuses — and the bundle is made from that binary.
#
#   scripts/desk-deb-at-version.sh VERSION OUT_DIR     (after the tests' build and installer/build.sh)
#
# Prints the path of the package it wrote into OUT_DIR. The next cargo run sees the variable
# gone and builds the desk at its own version again.
set -euo pipefail
version="$1"
out="$(mkdir -p "$2" && cd "$2" && pwd)"
cd "$(dirname "$0")/.."
case "$version" in *[!0-9.]* | "" | .* | *.) echo "desk-deb-at-version: not a version: $version" >&2; exit 2 ;; esac
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
log="$out/desk-at-version-build.log"
SHIMIN_DESK_VERSION="$version" cargo test --workspace --locked --no-run >"$log" 2>&1 ||
  { tail -30 "$log" >&2; echo "desk-deb-at-version: the build failed" >&2; exit 1; }
SHIMIN_DESK_VERSION="$version" SHIMIN_DESK_PREBUILT=1 SHIMIN_SERVER_BINARY="$target/debug/shimin-server" \
  bash installer/build.sh --debug >>"$log" 2>&1 ||
  { tail -30 "$log" >&2; echo "desk-deb-at-version: the bundle failed" >&2; exit 1; }
deb="$target/debug/bundle/deb/shimin-desk_${version}_amd64.deb"
[ "$(dpkg-deb --field "$deb" Version)" = "$version" ] ||
  { echo "desk-deb-at-version: $deb does not say version $version" >&2; exit 1; }
mv "$deb" "$out/"
echo "$out/$(basename "$deb")"
