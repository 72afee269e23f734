#!/bin/sh
# The webhook under wrk (a C load generator, lighter than the Rust one in webhook.rs): the
# release binary serves on loopback with a gen-certs.sh certificate; wrk runs GET /healthz
# (transport baseline), then POST /mutate with the realistic Deployment's AdmissionReview.
# The server logs one JSON line per review (RUST_LOG=info) into a file, as in production.
#
#   cargo build --release && benches/webhook_wrk.sh [SECONDS] [CONNECTIONS] [THREADS]
set -eu
SECONDS_PER_RUN=${1:-5}
CONNECTIONS=${2:-32}
THREADS=${3:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/pss-fix}
PORT=${PORT:-18443}
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT

"$ROOT/deploy/self-signed/gen-certs.sh" "$WORK" >/dev/null
python3 - "$ROOT/tests/util/deployment.json" > "$WORK/review.json" <<'PY'
import json, sys
obj = json.load(open(sys.argv[1]))
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    "uid": "b2c1c6f0-3f5e-4c69-9d55-2f1d1e8a7c01",
    "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
    "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
    "namespace": "team-a", "name": obj["metadata"]["name"], "operation": "CREATE",
    "userInfo": {"username": "admin"}, "object": obj, "oldObject": None, "dryRun": False}}))
PY
RUST_LOG=${RUST_LOG:-info} "$BIN" webhook --listen "127.0.0.1:$PORT" \
  --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do
  curl -sk "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
# Sanity: the answer carries a patch.
curl -sk -H 'content-type: application/json' --data-binary "@$WORK/review.json" \
  "https://127.0.0.1:$PORT/mutate" | grep -q '"patchType":"JSONPatch"'

echo "== GET /healthz (transport baseline)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "https://127.0.0.1:$PORT/healthz"
echo "== POST /mutate (realistic Deployment, $(wc -c < "$WORK/review.json") bytes)"
REVIEW="$WORK/review.json" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency \
  -s "$ROOT/benches/webhook_wrk.lua" "https://127.0.0.1:$PORT"
