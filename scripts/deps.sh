#!/bin/sh
# Installs the Debian packages this project needs; quiet and quick when all are
# present.  Extra package names may be passed as arguments (bench, fuzz, ...).
set -e
PKGS="apache2 apache2-dev memcached libmemcached-dev libmemcached-tools
      libjansson-dev libxml2-dev libssl-dev openssl check pkg-config make gcc
      python3 python3-pytest curl procps $*"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts the packaged daemons; our tests run their own on free ports.
for svc in apache2 memcached; do
    if [ -x /usr/sbin/service ]; then $SUDO service $svc stop >/dev/null 2>&1 || true; fi
done
