#!/usr/bin/env bash
# Starts `serve --sandbox` on a free port and drives its Swagger UI in Debian's Chromium.
# Installs what it needs (Debian's chromium, playwright-core from npm) when missing.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)

if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent

(cd "$root" && cargo build --quiet)
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${CARGO_TARGET_DIR:-$root/target}/debug/livechat-gateway" serve --sandbox --listen "127.0.0.1:$port" \
  --database-url "sqlite://$tmp/sandbox.db" >"$tmp/gateway.log" 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
# The first demo pair the banner prints (LiveChat API v2 when the sandbox serves both generations).
demo=$(grep -m1 '^Demo credentials.*(HTTP Basic): ' "$tmp/gateway.log" || true)
login=$(printf '%s\n' "$demo" | sed -n 's/^.*(HTTP Basic): \([^ ]*\) \/ \(.*\)$/\1/p')
key=$(printf '%s\n' "$demo" | sed -n 's/^.*(HTTP Basic): \([^ ]*\) \/ \(.*\)$/\2/p')
[ -n "$login" ] || { echo "no demo credentials in the sandbox banner:"; cat "$tmp/gateway.log"; exit 1; }

GATEWAY_URL="http://127.0.0.1:$port" DEMO_LOGIN="$login" DEMO_API_KEY="$key" \
  DEMO_AGENT_LOGINS="$login" SCREENSHOT="${SCREENSHOT:-$tmp/swagger-ui.png}" \
  node swagger-ui.mjs
