#!/usr/bin/env bash
# Builds the desk app's Debian package (.deb) with the Tauri CLI: a release build with the UI
# embedded, the icons, and the package's runtime dependencies (WebKitGTK, the tray library,
# gnome-keyring for the Secret Service). Output: <target>/release/bundle/deb/*.deb.
# `installer/build.sh --debug` builds the same package from a debug build (what scripts/test.sh
# does, so that a package that stops building turns the tests red without a release build);
# output then in <target>/debug/bundle/deb/.
# Windows (NSIS/MSI) and macOS bundles are built the same way on those systems.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
shimin_build_ui
(cd installer && npm ci --no-audit --no-fund --loglevel=error)
installer/node_modules/.bin/tauri build --bundles deb "$@"
target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
profile=release
for a in "$@"; do [ "$a" = "--debug" ] && profile=debug; done
ls -l "$target/$profile"/bundle/deb/*.deb
