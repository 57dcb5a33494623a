#!/usr/bin/env bash
# quickstart.sh — from a fresh Debian 12 machine to a working sitemail in one command:
#   installs the packages, builds, starts a private PostgreSQL under ./var, migrates,
#   loads deploy/examples/ (SMTP.config + two site files, DB keys for three sites),
#   prints `sitemailctl sites` and `show --explain` for every site, then starts a local
#   capture relay (Postfix smtp-sink on 127.0.0.1:2525 writing one file per message under
#   ./var/mail), queues mail for every example site and runs sitemaild to deliver it.
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
echo
echo "== local capture relay: smtp-sink on 127.0.0.1:2525, mail dumped under var/mail"
mkdir -p "$var/mail"
chmod 777 "$var/mail"
pkill -f "smtp-sink.*127.0.0.1:2525" 2>/dev/null || true
sink_user=""; [ "$(id -u)" = 0 ] && sink_user="-u nobody"
(cd "$var/mail" && exec /usr/sbin/smtp-sink $sink_user -d "%Y%m%d%H%M%S." 127.0.0.1:2525 100 >"$var/smtp-sink.log" 2>&1) &
sleep 0.5
for site in $("$ctl" sites | awk '$2 == "valid" {print $1}'); do
  id=$("$ctl" enqueue --site "$site" --to "reader@example.org" --subject "Hello from site $site")
  echo "queued message $id for site $site"
done
echo
echo "== sitemaild --once (delivers everything due, then exits)"
"$root/build/server/sitemaild" --once
echo
echo "== sitemailctl queue"
"$ctl" queue --limit 10
echo
echo "== what the capture relay received (var/mail)"
for f in "$var"/mail/*; do
  [ -f "$f" ] || continue
  echo "--- $f"
  grep -E '^(From|To|Subject|Message-ID|X-Site):' "$f" || true
done

cat <<EOM

sitemail is set up. To use the same database and config dir in your shell:
  export SITEMAIL_DATABASE='$SITEMAIL_DATABASE'
  export SITEMAIL_CONFIG_DIR='$SITEMAIL_CONFIG_DIR'
  build/server/sitemailctl check
  build/server/sitemailctl enqueue --site ACME --to you@example.org --subject hi
  build/server/sitemaild            # runs until Ctrl-C; metrics on http://127.0.0.1:9465/metrics
Stop the capture relay with: pkill -f 'smtp-sink.*127.0.0.1:2525'
Stop the private PostgreSQL with: deploy/pg-cluster.sh stop var/pg
EOM
