#!/usr/bin/env bash
# Installs both Debian packages into clean Debian 12 roots that have never seen the build
# (debootstrap, Debian's packages only) and uses them as a county's IT would (issue 15):
#
# - shimin-server: installed with dpkg, the unit checked by `systemd-analyze verify`, the root
#   booted with systemd in a container (systemd-nspawn), the service started by its unit as the
#   `shimin` user, answering health, logging to journald; `shimin-server backup` as that user;
#   `remove` keeps the configuration and the data, `purge` the data only.
# - shimin-desk: installed with apt (its declared dependencies, nothing else from this build), the
#   app started under Xvfb; the loopback server named in the machine-wide settings has published
#   NEXT_DESK_DEB (the same tree built at a higher version, scripts/desk-deb-at-version.sh)
#   signed with the county's update key; the desk offers it, the clerk consents from the
#   keyboard, the desk installs it with apt and restarts at the new version, where the clerk logs
#   in from the keyboard; screenshots saved; `remove` keeps the settings and the user's data,
#   `purge` removes the settings only.
#
#   scripts/clean-root.sh SERVER_DEB DESK_DEB NEXT_DESK_DEB SERVER_BINARY OUT_DIR
#
# SERVER_BINARY is the build's server, run on the host as the desk's loopback server (the demo
# county). Needs root (chroot, mounts, nspawn). Everything listens on loopback only.
set -euo pipefail
server_deb="$(realpath "$1")"
desk_deb="$(realpath "$2")"
next_deb="$(realpath "$3")"
server_bin="$(realpath "$4")"
out="$5"
mkdir -p "$out"
out="$(realpath "$out")"
work="$(mktemp -d /var/tmp/shimin-clean-root.XXXXXX)"
mounts=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
  [ -n "${SHIMIN_KEEP_ROOTS:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "clean-root: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # SECONDS DESCRIPTION COMMAND...
  local limit="$1" what="$2"; shift 2
  for _ in $(seq $((limit * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "timed out after ${limit}s: $what"
}

mirror="$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
mirror="${mirror:-http://deb.debian.org/debian}"
echo "-- debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase --include=adduser,ca-certificates,systemd,procps \
  bookworm "$work/base" "$mirror" >"$out/debootstrap.log" 2>&1 || { tail -20 "$out/debootstrap.log"; fail "debootstrap failed"; }

# ---------------------------------------------------------------- the server package
if [ "${SHIMIN_CLEAN_ROOT_ONLY:-}" != desk ]; then
echo "-- shimin-server: install, unit, boot with systemd"
srv="$work/server-root"
cp -a "$work/base" "$srv"
cp "$server_deb" "$srv/tmp/shimin-server.deb"
chroot "$srv" dpkg -i /tmp/shimin-server.deb
chroot "$srv" getent passwd shimin >/dev/null || fail "no shimin system user"
[ "$(chroot "$srv" stat -c %U /var/lib/shimin)" = shimin ] || fail "/var/lib/shimin not owned by shimin"
systemd-analyze verify --root="$srv" shimin-server.service || fail "systemd-analyze verify found problems in the unit"
chroot "$srv" systemctl enable shimin-server.service
for p in 8201 9201; do
  python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$p))==0)" || fail "port $p is taken: the packaged configuration serves there"
done
systemd-nspawn -q -D "$srv" -b --register=no --keep-unit >"$out/server-boot.log" 2>&1 &
pids+=($!)
wait_for 90 "the packaged server answers health" curl -sf http://127.0.0.1:8201/api/v1/health
# The container's systemd: the nspawn process's child (or grandchild) named systemd.
init=""
for child in "${pids[-1]}" $(pgrep -P "${pids[-1]}" || true); do
  init="$(pgrep -P "$child" -x systemd | head -1 || true)"
  [ -n "$init" ] && break
done
[ -n "$init" ] || fail "the container's systemd not found"
inside() { nsenter -t "$init" -a -r -w "$@"; }
[ "$(inside systemctl show -P ActiveState shimin-server)" = active ] || fail "the unit is not active"
[ "$(inside systemctl show -P User shimin-server)" = shimin ] || fail "the unit does not run as shimin"
inside ps -o user= -C shimin-server | grep -qx shimin || fail "the server process does not run as shimin"
inside journalctl -u shimin-server --no-pager | grep -q "shimin-server ready" || fail "nothing of the server in journald"
curl -sf http://127.0.0.1:9201/metrics | grep -q '^shimin_http_requests_total' || fail "no metrics"
inside runuser -u shimin -- shimin-server --config /etc/shimin/server.toml backup /var/lib/shimin/backup-1
[ -s "$srv/var/lib/shimin/backup-1/shimin.db" ] && [ -s "$srv/var/lib/shimin/backup-1/backup.json" ] || fail "backup incomplete"
inside systemctl stop shimin-server
inside dpkg -r shimin-server
[ -f "$srv/etc/shimin/server.toml" ] || fail "remove took the configuration"
[ -f "$srv/var/lib/shimin/shimin.db" ] || fail "remove took the data"
inside dpkg -P shimin-server
[ ! -e "$srv/etc/shimin/server.toml" ] || fail "purge left the configuration"
[ -f "$srv/var/lib/shimin/shimin.db" ] || fail "purge took the county's data"
inside systemctl poweroff || true
wait "${pids[-1]}" || true
unset 'pids[-1]'
echo "server package ok (unit active as shimin, health, journald, backup, remove/purge)"
fi

# ---------------------------------------------------------------- the desk package
echo "-- shimin-desk: install with its dependencies, start, update itself, log in, remove, purge"
version_of() { dpkg-deb --field "$1" Version; }
old_version="$(version_of "$desk_deb")"
new_version="$(version_of "$next_deb")"
dpkg --compare-versions "$new_version" gt "$old_version" || fail "NEXT_DESK_DEB ($new_version) is not newer than $old_version"
desk="$work/desk-root"
cp -a "$work/base" "$desk"
for m in proc sys dev dev/pts dev/shm; do
  mount --rbind "/$m" "$desk/$m" && mount --make-rslave "$desk/$m"
  mounts+=("$desk/$m")
done
cp "$desk_deb" "$desk/tmp/shimin-desk.deb"
cp /etc/resolv.conf "$desk/etc/resolv.conf" 2>/dev/null || true
chroot "$desk" apt-get update -qq
# The package and what a desktop session has anyway (an X client library, a session bus); the
# X server and the screenshot are the host's.
chroot "$desk" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  /tmp/shimin-desk.deb dbus dbus-x11 fontconfig >"$out/desk-apt.log" 2>&1 || { tail -30 "$out/desk-apt.log"; fail "apt could not install the desk package"; }
# Every screen is Chinese: the package must bring a font that has it.
[ -n "$(chroot "$desk" fc-list :lang=zh family)" ] || fail "no Chinese font came with the desk package"
[ -f "$desk/etc/shimin-desk/settings.toml" ] || fail "no machine-wide settings installed"
# Hall calls are spoken: the package must bring the Mandarin voice and a player.
chroot "$desk" espeak-ng -v cmn -w /tmp/call.wav "请W001号到3号窗口办理" && [ -s "$desk/tmp/call.wav" ] ||
  fail "the desk package does not bring espeak-ng with its Mandarin voice"
chroot "$desk" sh -c 'command -v aplay || command -v paplay' >/dev/null || fail "no audio player came with the desk package"

port="$(free_port)"; metrics="$(free_port)"
cat > "$work/metrics.toml" <<TOML
metrics_listen = "127.0.0.1:$metrics"
TOML
"$server_bin" --config "$work/metrics.toml" --data-dir "$work/desk-server" --listen "127.0.0.1:$port" --demo \
  >"$out/desk-server.log" 2>&1 &
pids+=($!)
wait_for 60 "the loopback server answers" curl -sf "http://127.0.0.1:$port/api/v1/health"
# What the county's IT does: an update key pair; the newer desk published, signed.
"$server_bin" --data-dir "$work/desk-server" update keygen "$work/update-keys" 2>"$out/update-keygen.log"
"$server_bin" --data-dir "$work/desk-server" update publish --version "$new_version" \
  --notes "测试更新：新版本 $new_version" --key "$work/update-keys/update-signing.key" "$next_deb" 2>"$out/update-publish.log"
curl -sf "http://127.0.0.1:$port/api/v1/updates/latest" | grep -qF "version\\\":\\\"$new_version\\\"" ||
  fail "the server does not offer the published update"
# And the conffile: the county's server (here the loopback one, plain HTTP marked), the update key,
# the install command (the desk runs as root in this root; on a county's desk, pkexec asks).
cat >> "$desk/etc/shimin-desk/settings.toml" <<TOML

update_public_key = "$(cat "$work/update-keys/update-signing.pub")"
update_install_command = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q"]

[[endpoint]]
name = "内网"
url = "http://127.0.0.1:$port"
plain_http = true
TOML

# A display number Xvfb picks itself (a stale lock or socket of another server can't mislead).
# Started again if it gives up (one CI run saw it time out once); its log is shown if it never
# comes up.
start_xvfb() {
  : >"$work/display"
  Xvfb -displayfd 3 -screen 0 1366x768x24 -nolisten tcp 3>"$work/display" >>"$out/xvfb.log" 2>&1 &
  xvfb_pid=$!
  pids+=("$xvfb_pid")
}
xvfb_up() { test -s "$work/display"; }
xvfb_started=no
for attempt in 1 2 3; do
  start_xvfb
  for _ in $(seq 300); do
    xvfb_up && break
    kill -0 "$xvfb_pid" 2>/dev/null || break
    sleep 0.2
  done
  if xvfb_up; then xvfb_started=yes; break; fi
  echo "clean-root: Xvfb did not come up (attempt $attempt):" >&2
  tail -n 20 "$out/xvfb.log" >&2 || true
  kill "$xvfb_pid" 2>/dev/null || true
done
[ "$xvfb_started" = yes ] || fail "the X server did not start (log: $out/xvfb.log)"
display=":$(tr -dc 0-9 <"$work/display")"
export DISPLAY="$display"
mkdir -p "$desk/tmp/.X11-unix"
mount --bind /tmp/.X11-unix "$desk/tmp/.X11-unix"
mounts+=("$desk/tmp/.X11-unix")
# The session bus outlives the app, as a desktop session's does: the desk restarts itself.
chroot "$desk" env -i HOME=/root DISPLAY="$display" LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  SHIMIN_DESK_LOG=info dbus-run-session -- sh -c '
    echo -n clean-root | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    shimin-desk
    exec sleep 3600' >"$out/desk-app.log" 2>&1 &
pids+=($!)
wait_for 60 "the desk window" xdotool search --name "市民网窗口端"
desk_pid() { # the desk's process in this root (not a window test's on the host)
  local p
  for p in $(pgrep -x shimin-desk); do [ "$(readlink "/proc/$p/root")" = "$desk" ] && echo "$p"; done | head -1
}
first_pid="$(desk_pid)"
[ -n "$first_pid" ] || fail "the desk's process not found"
grep -q "desk starting.*$old_version" "$out/desk-app.log" || fail "the installed desk did not start at $old_version"
sleep 4 # the login form's first render and the update check at start
import -window root "$out/desk-clean-root-update-offer.png"
# The clerk consents from the keyboard: the offer's 安装并重启 is the control before 稍后, which is
# the one before the focused user name.
xdotool search --name "市民网窗口端" windowactivate --sync 2>/dev/null || true
xdotool key shift+Tab shift+Tab Return
installed_version() { chroot "$desk" dpkg-query -W -f '${Version}' shimin-desk; }
new_installed() { [ "$(installed_version)" = "$new_version" ]; }
wait_for 120 "the desk installs $new_version (screenshot: desk-clean-root-update-offer.png)" new_installed
restarted() { local p; p="$(desk_pid)"; [ -n "$p" ] && [ "$p" != "$first_pid" ] && ! kill -0 "$first_pid" 2>/dev/null; }
wait_for 60 "the desk restarts" restarted
wait_for 30 "the restarted desk runs $new_version" grep -q "desk starting.*$new_version" "$out/desk-app.log"
[[ "$(readlink "/proc/$(desk_pid)/exe")" != *deleted* ]] || fail "the restarted desk runs the replaced binary"
wait_for 60 "the restarted desk's window" xdotool search --name "市民网窗口端"
clerk=gongan.zhangwei
sleep 3 # the login form's first render
import -window root "$out/desk-clean-root-updated.png"
xdotool search --name "市民网窗口端" windowactivate --sync 2>/dev/null || true
xdotool type --delay 30 "$clerk"
xdotool key Tab
xdotool type --delay 30 "Demo#2026"
xdotool key Return
logged_in() { curl -sf "http://127.0.0.1:$metrics/metrics" | grep -q 'shimin_http_requests_total{route="login",status="200"} 1'; }
wait_for 60 "the desk logs in to the loopback server" logged_in
wait_for 30 "the desk's encrypted cache" test -s "$desk/root/.local/share/shimin-desk/cache.sqlite"
sleep 3 # the queue's first render
import -window root "$out/desk-clean-root.png"
echo "screenshot: $out/desk-clean-root.png"
kill "$(desk_pid)" 2>/dev/null || true
kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
sleep 1
chroot "$desk" env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq shimin-desk >/dev/null
[ -f "$desk/etc/shimin-desk/settings.toml" ] || fail "remove took the machine-wide settings"
[ -s "$desk/root/.local/share/shimin-desk/cache.sqlite" ] || fail "remove took the user's data"
[ ! -e "$desk/usr/bin/shimin-desk" ] || fail "remove left the app"
chroot "$desk" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq shimin-desk >/dev/null
[ ! -e "$desk/etc/shimin-desk" ] || fail "purge left the machine-wide settings"
[ -s "$desk/root/.local/share/shimin-desk/cache.sqlite" ] || fail "purge took the user's data"
echo "desk package ok (installed with its dependencies, started, updated itself $old_version → $new_version after consent, logged in, remove/purge)"
