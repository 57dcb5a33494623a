#!/usr/bin/env bash
# install-deps.sh — install the Debian packages sitemail needs to build, run and test.
# Idempotent: apt-get install of present packages is a no-op; safe to run twice.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake pkg-config
  libboost-dev libboost-program-options-dev libboost-test-dev
  libssl-dev libpq-dev openssl ca-certificates
  postgresql-15 postgresql-client-15
  postfix python3-aiosmtpd swaks microsocks dante-server tinyproxy
  msmtp  # a reference client of the submission door (issue 19)
  # the postfix test: Postfix's SASL client (Cyrus) needs the PLAIN/LOGIN plugins
  libsasl2-modules
  procps iproute2 hostname bc time python3-psycopg2
  # the failover tests: PgBouncer in session and transaction mode (tests/failover/pooler.py);
  # pg_auto_failover for deploy/failover-drill.sh --auto-failover (the vanished-host test
  # needs only iproute2: network namespaces, veth pairs, a blackhole route, ss -K)
  pgbouncer postgresql-15-auto-failover
  # sd_notify; the package test: systemd-analyze, cpack shlibdeps (file, dpkg-dev), man pages
  libsystemd-dev systemd file dpkg-dev adduser man-db groff-base
  nlohmann-json3-dev
  clang libclang-rt-14-dev
  # the web console's browser tests (issue 16): headless Chromium driven by Selenium
  chromium chromium-driver python3-selenium
  # habits and checks: deploy/lint.sh (clang-tidy; clang-format for the style file),
  # lintian on the .deb (tests/package), promtool for the alert rules (deploy/prometheus/)
  clang-tidy clang-format lintian prometheus
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
# Postfix asks a debconf question unless preseeded; we use its tools (smtp-sink, smtp-source)
# and private instances with their own config dirs (tests/integration, tests/bench), never
# the system-wide one.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections
# The tests start their own private instances of PostgreSQL, dante, tinyproxy and Postfix
# tools; keep the packages' system-wide services from starting during installation (a
# service that fails to start, e.g. danted without a configuration, would fail the install).
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  made_policy=1
fi
trap '[ -n "$made_policy" ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# Packaged daemons are started by their postinst on some systems; tests start their own
# instances on private ports, so stop the system-wide ones quietly if they were started.
for svc in postfix tinyproxy danted postgresql pgbouncer prometheus; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
echo "install-deps: done"
