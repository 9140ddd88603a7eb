#!/usr/bin/env bash
# Builds both Debian packages:
# - shimin-server: the central server with its systemd unit (installer/server/build-deb.sh);
# - shimin-desk: the desk app, with the Tauri CLI (the UI embedded, the icons, the package's
#   runtime dependencies: WebKitGTK, the tray library, gnome-keyring for the Secret Service).
# Output: <target>/release/bundle/deb/*.deb.
# `installer/build.sh --debug` builds the same packages from debug builds (what scripts/test.sh
# does, so that a package that stops building turns the tests red without a release build);
# output then in <target>/debug/bundle/deb/. With SHIMIN_SERVER_BINARY set, that server binary
# is packaged instead of building one; with SHIMIN_DESK_PREBUILT=1, the desk binary already in
# <target>/<profile>/ is bundled (`tauri bundle`) instead of the Tauri CLI building its own —
# scripts/test.sh hands in the binaries its tests ran, so CI compiles the app once, not twice
# with two feature resolutions. SHIMIN_DESK_VERSION names the version the bundle says.
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
version_config=()
[ -z "${SHIMIN_DESK_VERSION:-}" ] || version_config=(--config "{\"version\":\"$SHIMIN_DESK_VERSION\"}")
if [ "${SHIMIN_DESK_PREBUILT:-}" = 1 ]; then
  [ -x "$target/$profile/shimin-desk" ] || { echo "build.sh: no prebuilt $target/$profile/shimin-desk" >&2; exit 1; }
  installer/node_modules/.bin/tauri bundle --bundles deb "${version_config[@]}" "$@"
else
  installer/node_modules/.bin/tauri build --bundles deb "${version_config[@]}" "$@"
fi
desk_version="${SHIMIN_DESK_VERSION:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "shimin-desk"))')}"
bash installer/desk/finish-deb.sh "$out/shimin-desk_${desk_version}_amd64.deb"
ls -l "$out"/*.deb
