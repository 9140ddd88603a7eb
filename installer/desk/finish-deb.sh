#!/usr/bin/env bash
# Completes the desk .deb the Tauri CLI built: adds the machine-wide settings
# /etc/shimin-desk/settings.toml as a conffile (kept on remove, removed on purge) and the postrm
# that tidies its directory on purge. The Tauri bundler has no conffiles of its own.
#   installer/desk/finish-deb.sh DEB
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
deb="$1"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
dpkg-deb -R "$deb" "$stage"
install -D -m 0644 "$here/settings.toml" "$stage/etc/shimin-desk/settings.toml"
echo /etc/shimin-desk/settings.toml > "$stage/DEBIAN/conffiles"
install -m 0755 "$here/postrm" "$stage/DEBIAN/postrm"
size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
sed -i "s/^Installed-Size: .*/Installed-Size: $size/" "$stage/DEBIAN/control"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
