#!/usr/bin/env bash
# A private CA and one certificate per name for the production compose file on one host
# (deploy/compose/tls/). With a PKI of your own, put its files there instead: ca.crt, and
# <name>.crt/<name>.key (common name and DNS name = <name>) for every name below; kafka.pem
# is kafka's key followed by its certificate. Rotate by running it again with --force and
# restarting (docs/operations.md, "Key rotation").
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p tls && cd tls
if [[ -f ca.key && "${1:-}" != "--force" ]]; then
  echo "tls/ already has a CA; --force makes new certificates from it" >&2
fi
[[ -f ca.key ]] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.crt -days 825 -subj "/CN=parley-compose-ca"
for name in kafka redis postgres gateway auth conversation ai whatsapp knowledge; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "/CN=$name"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 90 \
    -out "$name.crt" -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$name")
  rm "$name.csr"
done
cat kafka.key kafka.crt > kafka.pem
# PostgreSQL refuses a key others can read; each image runs as its own user, so the keys
# are readable by that user's group only where it matters.
chmod 600 ca.key
chmod 640 ./*.key kafka.pem
echo "certificates in $(pwd); keep ca.key offline"
