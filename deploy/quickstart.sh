#!/usr/bin/env bash
# quickstart.sh — from a fresh Debian 12 machine to a working sitemail in one command:
#   installs the packages, builds, starts a private PostgreSQL under ./var, migrates,
#   loads deploy/examples/ (SMTP.config + two site files, DB keys for three sites),
#   then prints `sitemailctl sites` and `show --explain` for every site.
# Everything it creates lives under ./var; run it again at any time (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
var="$root/var"
deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target sitemailctl sitemaild
ctl="$root/build/server/sitemailctl"

mkdir -p "$var"
export SITEMAIL_DATABASE
SITEMAIL_DATABASE=$(deploy/pg-cluster.sh start "$var/pg")
# The admin's config dir: a copy of the examples, so it can be edited freely.
export SITEMAIL_CONFIG_DIR="$var/config"
if [ ! -d "$SITEMAIL_CONFIG_DIR" ]; then cp -r deploy/examples/config "$SITEMAIL_CONFIG_DIR"; fi

echo "== sitemailctl db migrate"
"$ctl" db migrate
echo "== loading DB keys from deploy/examples/keys.txt"
grep -v '^#' deploy/examples/keys.txt | while read -r site key value; do
  [ -n "$site" ] && "$ctl" keys set "$key" "$value" --site "$site"
done

echo
echo "== sitemailctl sites"
"$ctl" sites || true
for site in $("$ctl" sites | awk '{print $1}'); do
  echo
  echo "== sitemailctl show --site $site --explain"
  "$ctl" show --site "$site" --explain || true
done
cat <<EOM

sitemail is set up. To use the same database and config dir in your shell:
  export SITEMAIL_DATABASE='$SITEMAIL_DATABASE'
  export SITEMAIL_CONFIG_DIR='$SITEMAIL_CONFIG_DIR'
  build/server/sitemailctl check
Stop the private PostgreSQL with: deploy/pg-cluster.sh stop var/pg
EOM
