#!/usr/bin/env bash
# The demo: the embedded central server with a realistic demo county (and a new reservation
# every 30 s), and a desk connected to it over loopback. Installs what is missing first.
# Stop with Ctrl-C. Data lives in .shimin-demo/ (delete it to start afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

DEMO_DIR="$PWD/.shimin-demo"
ADDR="${SHIMIN_DEMO_ADDR:-127.0.0.1:8201}"
mkdir -p "$DEMO_DIR"
cargo build --release -p shimin-server -p shimin-client --bins

target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
"$target/release/shimin-server" --data-dir "$DEMO_DIR/server" --listen "$ADDR" --demo --trickle-secs 30 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://$ADDR/api/v1/health" >/dev/null && break; sleep 0.2; done

# The cache key of the demo desk: random once, kept beside the demo data (a real desk keeps it
# in the OS keyring).
[ -f "$DEMO_DIR/desk.key" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DEMO_DIR/desk.key"
echo "演示服务器: http://$ADDR   演示账户: gongan.zhangwei（县公安局A角窗口人员），其他账户见 README 密码: Demo#2026"
SHIMIN_USER="${SHIMIN_USER:-gongan.zhangwei}" SHIMIN_PASSWORD="${SHIMIN_PASSWORD:-Demo#2026}" \
  "$target/release/shimin-desk-cli" --cache "$DEMO_DIR/desk.db" --key-hex "$(cat "$DEMO_DIR/desk.key")" \
  --endpoint "http://$ADDR" watch
