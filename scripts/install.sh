#!/bin/sh
# make -f Makefile.apxs install: the module with apxs -i, then, on a
# Debian-style layout, conf/kylin_balancer.load and .conf into
# mods-available so that "a2enmod kylin_balancer" works.
#   LIBEXECDIR     where modules go (default: apxs -q LIBEXECDIR)
#   APACHE_CONFDIR Debian's configuration root (default /etc/apache2)
set -e
cd "$(dirname "$0")/.."
APXS=${APXS:-apxs}
LIBEXECDIR=${LIBEXECDIR:-$($APXS -q LIBEXECDIR)}
APACHE_CONFDIR=${APACHE_CONFDIR:-/etc/apache2}

mkdir -p "$LIBEXECDIR"
$APXS -S LIBEXECDIR="$LIBEXECDIR" -i -n kylin_balancer mod_kylin_balancer.la

avail="$APACHE_CONFDIR/mods-available"
if [ ! -d "$avail" ]; then
    echo "installed $LIBEXECDIR/mod_kylin_balancer.so"
    echo "add to httpd.conf, after mod_proxy, mod_proxy_http, mod_proxy_balancer,"
    echo "mod_slotmem_shm and mod_watchdog:"
    echo "    LoadModule kylin_balancer_module $LIBEXECDIR/mod_kylin_balancer.so"
    exit 0
fi
sed "s#/usr/lib/apache2/modules/mod_kylin_balancer.so#$LIBEXECDIR/mod_kylin_balancer.so#" \
    conf/kylin_balancer.load > "$avail/kylin_balancer.load"
if [ -e "$avail/kylin_balancer.conf" ]; then
    # never overwrite an operator's edited configuration
    cp conf/kylin_balancer.conf "$avail/kylin_balancer.conf.dist"
    echo "kept $avail/kylin_balancer.conf; the new one is kylin_balancer.conf.dist"
else
    cp conf/kylin_balancer.conf "$avail/kylin_balancer.conf"
fi
echo "installed $LIBEXECDIR/mod_kylin_balancer.so and $avail/kylin_balancer.{load,conf}"
echo "enable it with:  a2enmod kylin_balancer && systemctl reload apache2"
