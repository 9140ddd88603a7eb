#!/usr/bin/env bash
# Installs what building and testing Shimin Desk needs on Debian 12, and nothing when it is
# already there. Sourced by scripts/test.sh and scripts/demo.sh; safe to run again.
set -euo pipefail

# Debian packages: a C compiler for SQLCipher, OpenSSL's headers for its crypto (libssl-dev,
# below), pkg-config.
SHIMIN_APT_PACKAGES=(build-essential pkg-config perl make curl ca-certificates git)
# The desk app (Tauri 2 on WebKitGTK): build dependencies, and what its end-to-end tests run
# headless (tests/src/desktop.rs): X server, session bus, WebDriver, Secret Service (gnome-keyring,
# secret-tool), notification server (dunst), gdbus, CJK fonts, screenshots (imagemagick).
SHIMIN_APT_PACKAGES+=(
  libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  libdbus-1-dev libsecret-1-dev file
  xvfb xauth webkit2gtk-driver dbus-daemon dbus-bin dbus-x11 dbus-user-session libglib2.0-bin
  gnome-keyring libsecret-tools dunst fonts-noto-cjk imagemagick
)
# The packages' clean-root installs (scripts/clean-root.sh): a Debian root, systemd in a
# container, typing into the desk's window.
SHIMIN_APT_PACKAGES+=(debootstrap systemd-container xdotool)
# Hall calling by voice: the desk speaks calls with espeak-ng (Mandarin voice) and plays them with
# aplay; the window tests measure the spoken file with sox.
SHIMIN_APT_PACKAGES+=(espeak-ng alsa-utils sox)
# The server's PostgreSQL backend: its tests start a throwaway cluster (scripts/pg.sh); backups
# of a PostgreSQL database use pg_dump / pg_restore. python3 picks free loopback ports.
SHIMIN_APT_PACKAGES+=(postgresql postgresql-client python3)
# The desk app's frontend (ui/) is built with npm.
command -v node >/dev/null 2>&1 || SHIMIN_APT_PACKAGES+=(nodejs npm)

missing=()
for p in "${SHIMIN_APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust: the workspace needs a current stable toolchain (rust-version in Cargo.toml).
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: no Rust toolchain; installing rustup (stable)" >&2
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt || true
fi

# tauri-driver: the WebDriver server of the desk app's end-to-end tests (with WebKitWebDriver).
# Installed into cargo's bin directory, which the tests also search when it is not on PATH.
SHIMIN_CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$SHIMIN_CARGO_BIN:"*) ;; *) export PATH="$PATH:$SHIMIN_CARGO_BIN" ;; esac
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver (cargo install tauri-driver --locked)" >&2
  # A target directory of its own: not the workspace's, and removed afterwards.
  shimin_td_target="$(mktemp -d)"
  CARGO_TARGET_DIR="$shimin_td_target" cargo install tauri-driver --locked --quiet
  rm -rf "$shimin_td_target"
fi

# Builds the desk app's frontend (ui/ -> ui/dist). `npm ci` (which starts from an empty
# node_modules) only when node_modules was not installed from the current package-lock.json: a
# copy of the lock it was installed from is kept as node_modules/.shimin-lock.
shimin_build_ui() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  (
    cd "$root/ui"
    if [ ! -f node_modules/.shimin-lock ] || ! cmp -s package-lock.json node_modules/.shimin-lock; then
      npm ci --no-audit --no-fund --loglevel=error
      cp package-lock.json node_modules/.shimin-lock
    fi
    npm run build --silent
  )
}
