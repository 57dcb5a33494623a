#!/usr/bin/env bash
# make_certs.sh DIR — throw-away certificates for the TLS tests, made with openssl:
#   ca.pem/ca.key                 a test CA
#   relay.pem/relay.key           relay certificate for 127.0.0.1 and localhost (signed by the CA)
#   wrong.pem/wrong.key           a CA-signed certificate for the wrong host (wrong.example)
#   selfsigned.pem/selfsigned.key a self-signed certificate for pinning
#   client.pem (cert+key), client.crt, client.key, client.pfx (password "pfxpass"),
#   client-enc.pem (key encrypted with "pempass"), other.pem (second client, CN=other)
set -euo pipefail
dir=${1:?usage: make_certs.sh DIR}
mkdir -p "$dir" && cd "$dir"
[ -f done ] && exit 0
o() { openssl "$@" 2>/dev/null; }
o req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=sitemail test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
leaf() {  # name subject san extKeyUsage
  o req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$3" "$4" > "$1.ext"
  o x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext"
}
leaf relay "/CN=localhost" "DNS:localhost,IP:127.0.0.1" serverAuth
leaf wrong "/CN=wrong.example" "DNS:wrong.example" serverAuth
leaf client "/CN=sitemail client/O=Example Library" "DNS:client.example" clientAuth
leaf other "/CN=other/O=Elsewhere" "DNS:other.example" clientAuth
o req -x509 -newkey rsa:2048 -nodes -keyout selfsigned.key -out selfsigned.pem -days 2 -subj "/CN=pinned relay" \
  -addext "subjectAltName=IP:127.0.0.1"
cp client.pem client.crt
cat client.crt client.key > client.pem
cat other.pem other.key > other-full.pem
o pkcs12 -export -in client.crt -inkey client.key -certfile ca.pem -out client.pfx -passout pass:pfxpass
o pkey -in client.key -aes256 -passout pass:pempass -out client-enc.key
cat client.crt client-enc.key > client-enc.pem
touch done
