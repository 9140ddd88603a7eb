#!/usr/bin/env bash
# The demo: the embedded central server with a realistic demo county (a new reservation every
# 30 s) on two loopback addresses standing in for the intranet (127.0.0.1) and the internet
# (127.0.0.2), and the desk app connected to it. Installs what is missing first.
# Close the app (tray → 退出) or press Ctrl-C to stop. Data lives in .shimin-demo/ (delete it
# to start afresh).
#
# Without a desktop (no $DISPLAY) the app runs on a virtual screen (Xvfb) with its own session
# bus, keyring and notification daemon, and a screenshot is written every 30 s to
# .shimin-demo/screen.png.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
shimin_build_ui

DEMO_DIR="$PWD/.shimin-demo"
PORT="${SHIMIN_DEMO_PORT:-8201}"
mkdir -p "$DEMO_DIR"
cargo build --release -p shimin-server -p shimin-desk

target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
"$target/release/shimin-server" --data-dir "$DEMO_DIR/server" \
  --listen "127.0.0.1:$PORT" --listen "127.0.0.2:$PORT" --demo --trickle-secs 30 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break; sleep 0.2; done

echo "演示服务器: 内网 http://127.0.0.1:$PORT  外网 http://127.0.0.2:$PORT"
echo "演示账户: gongan.zhangwei（县公安局A角窗口人员）、gongan.wangfang（B角）等，见 README；密码 Demo#2026（首次登录无需改密）"
export SHIMIN_DESK_DATA_DIR="$DEMO_DIR/desk"
# The machine-wide settings IT would install as /etc/shimin-desk/settings.toml: the demo's two
# loopback addresses, marked as plain-HTTP intranet (the traffic never leaves this machine).
mkdir -p "$DEMO_DIR/etc"
cat > "$DEMO_DIR/etc/settings.toml" <<TOML
[[endpoint]]
name = "内网"
url = "http://127.0.0.1:$PORT"
plain_http = true

[[endpoint]]
name = "外网"
url = "http://127.0.0.2:$PORT"
plain_http = true
TOML
export SHIMIN_DESK_MACHINE_SETTINGS="$DEMO_DIR/etc/settings.toml"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  "$target/release/shimin-desk"
else
  echo "没有图形桌面：在虚拟屏幕上运行，截图见 $DEMO_DIR/screen.png" >&2
  export HOME="$DEMO_DIR/home"; mkdir -p "$HOME"
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- sh -c '
    echo -n demo | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    dunst >/dev/null 2>&1 &
    "$0" & app=$!
    while kill -0 $app 2>/dev/null; do sleep 30; import -window root "$1/screen.png" 2>/dev/null || true; done
  ' "$target/release/shimin-desk" "$DEMO_DIR"
fi
