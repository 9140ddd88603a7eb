#!/usr/bin/env bash
# Installs what building and testing Shimin Desk needs on Debian 12, and nothing when it is
# already there. Sourced by scripts/test.sh and scripts/demo.sh; safe to run again.
set -euo pipefail

# Debian packages: compilers for SQLCipher and its vendored OpenSSL (perl, make), pkg-config.
SHIMIN_APT_PACKAGES=(build-essential pkg-config perl make curl ca-certificates git)

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
