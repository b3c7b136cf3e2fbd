#!/usr/bin/env bash
# Generates every secret Teller makes itself, one file each, into DIR (default deploy/secrets):
# the files deploy/compose.yaml mounts, and the keys of the Kubernetes Secrets in deploy/README.md.
# Provider credentials (Meta, Twilio) and the public TLS certificate come from those providers and
# are added by hand. Needs bash and OpenSSL >= 1.1.1 (Ed25519, -addext); nothing else.
#
#   deploy/generate-secrets.sh [DIR]
#   CORE_TLS_NAMES=teller-core.bank.svc,core.bank.internal deploy/generate-secrets.sh
#
# CORE_TLS_NAMES adds DNS names to the core's certificate (it always holds core, teller-core,
# localhost and 127.0.0.1). Existing files are never overwritten: rotating a key is a decision
# (see deploy/README.md), not a side effect of running this twice.
set -euo pipefail

dir=${1:-"$(dirname "$0")/secrets"}
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077
stamp=$(date +%Y%m%d)

# Writes stdin to FILE unless FILE exists.
keep() {
  if [ -e "$1" ]; then
    cat >/dev/null
    echo "kept      $1" >&2
  else
    cat >"$1"
    echo "generated $1" >&2
  fi
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# Prints a private Ed25519 JWK (alg EdDSA, RFC 8037) whose kid is $1. The key stays in memory:
# PKCS#8 and SPKI DER of Ed25519 end with the 32-byte seed and public key respectively.
private_jwk() {
  local pem d x
  pem=$(openssl genpkey -algorithm ed25519)
  d=$(printf '%s\n' "$pem" | openssl pkey -outform DER | tail -c 32 | b64url)
  x=$(printf '%s\n' "$pem" | openssl pkey -pubout -outform DER | tail -c 32 | b64url)
  printf '{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"%s","x":"%s","d":"%s"}\n' "$1" "$x" "$d"
}

# Prints the public half of the private JWK in file $1 (every field but "d").
public_jwk() { sed -E 's/,"d":"[^"]*"//' "$1"; }

# Issues a P-256 certificate signed by ca.crt: $1 file stem, $2 extendedKeyUsage, $3 subjectAltName.
leaf() {
  [ -e "$1.crt" ] && { echo "kept      $1.crt" >&2; return; }
  local csr ext
  csr=$(mktemp) ext=$(mktemp)
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
    "$2" "$3" >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/CN=$1" \
    -out "$csr" 2>/dev/null
  openssl x509 -req -in "$csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" -days 397 \
    -extfile "$ext" -out "$1.crt" 2>/dev/null
  rm -f "$csr" "$ext"
  echo "generated $1.crt $1.key" >&2
}

# --- Identity and data at rest (core) ---
openssl rand -base64 48 | tr -d '\n' | keep user-id-salt
printf 'k%s:%s' "$stamp" "$(openssl rand -base64 32)" | keep encryption-keys
openssl rand -base64 32 | tr -d '\n' | keep step-up-otp-key
private_jwk "step-up-$stamp" | keep step-up-jwk.json
private_jwk "audit-checkpoint-$stamp" | keep audit-checkpoint-jwk.json

# --- Service tokens: the gateways' key, an operator key for `teller token`, and the core's JWKS ---
private_jwk "gateways-$stamp" | keep gateways-jwk.json
private_jwk "ops-$stamp" | keep ops-jwk.json
printf '{"keys":[%s,%s]}\n' "$(public_jwk gateways-jwk.json)" "$(public_jwk ops-jwk.json)" | keep service-jwks.json

# --- WhatsApp: the verify token is ours to choose; Meta's app secret and access token are not ---
openssl rand -hex 24 | tr -d '\n' | keep whatsapp-verify-token

# --- The Redis and PostgreSQL of deploy/compose.yaml (a cluster brings its own URLs) ---
openssl rand -hex 32 | tr -d '\n' | keep redis-password
printf 'redis://:%s@redis:6379' "$(cat redis-password)" | keep redis-url
openssl rand -hex 32 | tr -d '\n' | keep postgres-password
printf 'postgres://teller:%s@postgres:5432/teller' "$(cat postgres-password)" | keep database-url

# --- A private CA for the core's TLS and the clients it accepts (mutual TLS) ---
if [ ! -e ca.crt ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 1825 -subj "/CN=Teller internal CA $stamp" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "generated ca.crt ca.key" >&2
fi
names="DNS:core,DNS:teller-core,DNS:localhost,IP:127.0.0.1"
extra=${CORE_TLS_NAMES:-}
for name in ${extra//,/ }; do names="$names,DNS:$name"; done
leaf core serverAuth "$names"
leaf gateways-client clientAuth "DNS:teller-gateways"
leaf ops-client clientAuth "DNS:teller-ops"

# Containers run as uid 10001 and Compose bind-mounts secret files with their host modes, so the
# mounted files are world-readable inside this 0700 directory. The CA key and the operator's keys
# never enter a container: owner-only.
chmod 0444 -- *
chmod 0400 ca.key ops-jwk.json ops-client.key
echo "done: add whatsapp-app-secret, whatsapp-access-token, twilio-auth-token (and gateway-tls.crt/.key) to $PWD" >&2
