#!/usr/bin/env bash
# Builds the server's Debian package from a built binary:
#   installer/server/build-deb.sh BINARY OUT_DIR
# Output: OUT_DIR/shimin-server_<version>_<arch>.deb (binary, systemd unit, /etc/shimin/server.toml
# as a conffile, maintainer scripts that create the `shimin` system user and /var/lib/shimin).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$1"
out="$2"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/../../Cargo.toml" | head -1)"
arch="$(dpkg --print-architecture)"
stage="$(mktemp -d)"
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
install -D -m 0755 "$binary" "$stage/usr/bin/shimin-server"
install -D -m 0644 "$here/shimin-server.service" "$stage/lib/systemd/system/shimin-server.service"
install -D -m 0640 "$here/server.toml" "$stage/etc/shimin/server.toml"
install -D -m 0644 "$here/README.Debian" "$stage/usr/share/doc/shimin-server/README.Debian"
install -d "$stage/DEBIAN"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$stage/DEBIAN/"
echo /etc/shimin/server.toml > "$stage/DEBIAN/conffiles"
# Shared libraries the binary links (everything else, SQLCipher among them, is inside it;
# SQLCipher's crypto is the system's libcrypto).
depends="libc6 (>= 2.34), libgcc-s1, libssl3, adduser"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: shimin-server
Version: $version
Architecture: $arch
Maintainer: Shimin Desk <shimin-desk@localhost>
Depends: $depends
Recommends: postgresql-client
Section: net
Priority: optional
Installed-Size: $(du -sk "$stage/usr" | cut -f1)
Description: Shimin Desk central server (市民网窗口端中心服务器)
 The central server of Shimin Desk: accounts, permission-scoped sync of the
 desks' work queues, the citizen portal's intake, working-time deadlines and
 their warnings, HTTPS with the county's certificate. SQLite by default,
 PostgreSQL for several instances. Runs as the systemd service shimin-server.
CONTROL
mkdir -p "$out"
deb="$out/shimin-server_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
