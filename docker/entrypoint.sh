#!/bin/sh
# Entrypoint of the mod_kylin_balancer image: makes sure the secret files
# exist, then runs the command (apache2ctl -D FOREGROUND by default).
#
#   /etc/apache2/kylin/session.key        KylinSessionKey: 48 random bytes
#                                         unless one is mounted (mount the same
#                                         file on every balancer host)
#   /etc/apache2/kylin/probe.credentials  KylinProbeCredentials, from
#                                         KYLIN_PROBE_USER / KYLIN_PROBE_PASSWORD
#                                         (default ADMIN / KYLIN) unless mounted
# KYLIN_SECRETS_DIR moves the directory (the site file names the default).
set -eu

dir=${KYLIN_SECRETS_DIR:-/etc/apache2/kylin}
mkdir -p "$dir"

if [ ! -s "$dir/session.key" ]; then
    ( umask 077; head -c 48 /dev/urandom > "$dir/session.key" )
    echo "kylin-balancer: generated $dir/session.key; other balancer hosts need the same file" >&2
fi
if [ ! -s "$dir/probe.credentials" ]; then
    ( umask 077
      printf '%s:%s\n' "${KYLIN_PROBE_USER:-ADMIN}" "${KYLIN_PROBE_PASSWORD:-KYLIN}" \
          > "$dir/probe.credentials" )
fi
chmod 600 "$dir/session.key" "$dir/probe.credentials" 2>/dev/null || true

exec "$@"
