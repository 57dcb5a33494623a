#!/usr/bin/env bash
# bench_oauth.sh BUILD_DIR — OAuth token requests per 10,000 messages (issue 10): 10 sites
# with a token endpoint each (our HTTPS endpoint, tests/integration/peers/token_endpoint.py,
# tokens valid 1 hour), one STARTTLS relay accepting exactly the issued tokens (aiosmtpd,
# XOAUTH2), `sitemaild --once` drains 10,000 messages. Expected: 10 token requests (one per
# site per token lifetime, whatever the number of connections). Figures are printed, never
# asserted.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_OAUTH_MESSAGES:-10000}
SITES=${BENCH_OAUTH_SITES:-10}
work=$(mktemp -d /tmp/sitemail-bench-oauth.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$src/deploy/pg-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "peer on $1 did not start" >&2; exit 2; }

"$src/tests/integration/make_certs.sh" "$work/certs" >/dev/null
db=$("$src/deploy/pg-cluster.sh" start "$work/pg")
export SITEMAIL_DATABASE="$db" SITEMAIL_CONFIG_DIR="$work/config"
mkdir -p "$work/config" "$work/endpoint" "$work/relay"
"$build/server/sitemailctl" db migrate >/dev/null
: > "$work/tokens"
ep=$(free_port)
(cd "$work/endpoint" && exec /usr/bin/python3 "$src/tests/integration/peers/token_endpoint.py" --port "$ep" --out out \
  --cert "$work/certs/relay.pem" --key "$work/certs/relay.key" --client-secret bench-secret --tokens-file "$work/tokens" \
  --expires-in 3600 >log 2>&1) &
pids+=($!)
relay=$(free_port)
(cd "$work/relay" && exec /usr/bin/python3 "$src/tests/integration/peers/smtp_server.py" --port "$relay" --out out \
  --tls starttls --cert "$work/certs/relay.pem" --key "$work/certs/relay.key" --user box@lib.example:unused --mechs PLAIN \
  --tokens-file "$work/tokens" --bearer XOAUTH2 >log 2>&1) &
pids+=($!)
wait_port "$ep"; wait_port "$relay"
for ((i = 0; i < SITES; i++)); do
  cat > "$work/config/O$(printf %02d $i).config" <<XML
<MailSettings><EMailSMTPServer>127.0.0.1</EMailSMTPServer><EMailSMTPPort>$relay-starttls</EMailSMTPPort>
<SslCaFile>$work/certs/ca.pem</SslCaFile><EMailFromAddress>bench@lib.example</EMailFromAddress><SMTPUserID>box@lib.example</SMTPUserID>
<OAuthTokenUrl>https://127.0.0.1:$ep/token</OAuthTokenUrl><OAuthClientId>sitemail-app</OAuthClientId>
<OAuthClientSecret>bench-secret</OAuthClientSecret><MaxConnections>4</MaxConnections></MailSettings>
XML
done
printf '[metrics]\nlisten =\n' > "$work/sitemaild.conf"
psql "$db" -qc "INSERT INTO outbox (nvtgc, to_addrs, subject, body_text) SELECT 'O' || lpad((g % $SITES)::text, 2, '0'), 'rcpt@dest.example', 'bench ' || g, 'body' FROM generate_series(1, $N) g"

echo "== OAuth: token requests for $N messages over $SITES sites (XOAUTH2 over STARTTLS, tokens valid 1 h)"
start=$(date +%s.%N)
"$build/server/sitemaild" --once --config "$work/sitemaild.conf" 2>"$work/daemon.log" || true
end=$(date +%s.%N)
sent=$(psql "$db" -tAc "SELECT count(*) FROM outbox WHERE status = 'sent'")
requests=$(wc -l < "$work/endpoint/out/requests.log")
auths=$(grep -c "XOAUTH2 ok" "$work/relay/out/auth.log" || true)
printf 'sitemaild: %s of %s sent in %.2f s (%.0f msg/s), %s SMTP logins\n' "$sent" "$N" "$(echo "$end - $start" | bc -l)" \
  "$(echo "$sent / ($end - $start)" | bc -l)" "$auths"
printf 'token requests: %s for %s messages over %s sites, %s connections (target: %s, one per site per token lifetime)\n' \
  "$requests" "$sent" "$SITES" "$auths" "$SITES"
