#!/bin/sh
# Self-signed alternative to cert-manager: makes a CA and a serving certificate for the
# webhook Service with openssl, and prints (or applies) the Secret and the CA bundle patch.
#
#   deploy/self-signed/gen-certs.sh OUTDIR            # files only
#   deploy/self-signed/gen-certs.sh OUTDIR --apply    # also kubectl apply the Secret and caBundle
#
# Re-run before the certificate expires (DAYS, default 365): the webhook reloads the new files
# from the updated Secret without a restart. Needs openssl (and kubectl for --apply).
set -eu

OUT=${1:?usage: gen-certs.sh OUTDIR [--apply]}
APPLY=${2:-}
NAMESPACE=${NAMESPACE:-pss-fix-system}
SERVICE=${SERVICE:-pss-fix-webhook}
SECRET=${SECRET:-pss-fix-webhook-tls}
WEBHOOK=${WEBHOOK:-pss-fix-webhook}
DAYS=${DAYS:-365}

mkdir -p "$OUT"
cd "$OUT"
umask 077

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.crt -days "$DAYS" -subj "/CN=pss-fix webhook CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null

openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout tls.key -out tls.csr -subj "/CN=$SERVICE.$NAMESPACE.svc" 2>/dev/null

cat > tls.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:$SERVICE.$NAMESPACE.svc,DNS:$SERVICE.$NAMESPACE.svc.cluster.local
EXT
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -out tls.crt -days "$DAYS" -extfile tls.ext 2>/dev/null
rm -f tls.csr tls.ext ca.srl

openssl verify -CAfile ca.crt tls.crt >/dev/null
CA_BUNDLE=$(base64 < ca.crt | tr -d '\n')
echo "wrote $OUT/ca.crt $OUT/tls.crt $OUT/tls.key (valid $DAYS days)"

if [ "$APPLY" = "--apply" ]; then
  kubectl -n "$NAMESPACE" create secret tls "$SECRET" --cert=tls.crt --key=tls.key \
    --dry-run=client -o yaml | kubectl apply -f -
  kubectl patch mutatingwebhookconfiguration "$WEBHOOK" --type=json \
    -p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$CA_BUNDLE\"}]"
else
  echo "caBundle: $CA_BUNDLE"
fi
