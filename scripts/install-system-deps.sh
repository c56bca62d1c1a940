#!/usr/bin/env bash
# Installs the system tools the tests need when running as root on a Debian-like machine: iproute2 and iptables
# for the network-namespace tests, redis-server for the shared rate-limit storage, postgresql for the shared
# store, chromium for the link page's browser tests, miniupnpd (+ miniupnpc) for the self-check labs. Without root or apt it does nothing; those
# tests then skip and say why.
set -uo pipefail
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The store's and the watch scheduler's PostgreSQL tests start their own cluster from Debian's binaries.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
# The self-check labs' router (tests/probes/netns/selfcheck_lab.py); Debian leaves its service off by default.
command -v miniupnpd >/dev/null 2>&1 || [ -x /usr/sbin/miniupnpd ] || need+=(miniupnpd)
command -v upnpc >/dev/null 2>&1 || need+=(miniupnpc)
# The link page's browser tests drive Debian's chromium through Playwright (never `playwright install`).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
for extra in "$@"; do need+=("$extra"); done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: ${need[*]} missing and cannot be installed here (need root and apt-get); those tests will skip" >&2
  exit 0
fi
echo "installing ${need[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
  echo "note: could not install ${need[*]}; those tests will skip" >&2
exit 0
