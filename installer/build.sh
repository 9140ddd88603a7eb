#!/usr/bin/env bash
# Builds both Debian packages:
# - shimin-server: the central server with its systemd unit (installer/server/build-deb.sh);
# - shimin-desk: the desk app, with the Tauri CLI (the UI embedded, the icons, the package's
#   runtime dependencies: WebKitGTK, the tray library, gnome-keyring for the Secret Service).
# Output: <target>/release/bundle/deb/*.deb.
# `installer/build.sh --debug` builds the same packages from debug builds (what scripts/test.sh
# does, so that a package that stops building turns the tests red without a release build);
# output then in <target>/debug/bundle/deb/. With SHIMIN_SERVER_BINARY set, that server binary
# is packaged instead of building one (scripts/test.sh hands in the one its tests ran).
# Windows (NSIS/MSI) and macOS bundles of the desk are built with the same CLI on those systems.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
profile=release
for a in "$@"; do [ "$a" = "--debug" ] && profile=debug; done
out="$target/$profile/bundle/deb"

server_binary="${SHIMIN_SERVER_BINARY:-}"
if [ -z "$server_binary" ]; then
  if [ "$profile" = release ]; then
    cargo build --release --locked -p shimin-server
  else
    cargo build --locked -p shimin-server
  fi
  server_binary="$target/$profile/shimin-server"
fi
bash installer/server/build-deb.sh "$server_binary" "$out"

shimin_build_ui
(cd installer && npm ci --no-audit --no-fund --loglevel=error)
installer/node_modules/.bin/tauri build --bundles deb "$@"
desk_debs=("$out"/shimin-desk_*.deb)
bash installer/desk/finish-deb.sh "${desk_debs[-1]}"
ls -l "$out"/*.deb
