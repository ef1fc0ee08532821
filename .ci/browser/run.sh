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
. "$root/.ci/sandbox.sh"
start_sandbox

GATEWAY_URL="$base" DEMO_LOGIN="$login" DEMO_API_KEY="$key" \
  DEMO_AGENT_LOGINS="$login" SCREENSHOT="${SCREENSHOT:-$tmp/swagger-ui.png}" \
  node swagger-ui.mjs
