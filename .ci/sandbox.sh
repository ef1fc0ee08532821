# Sourced by the CI checks that drive `serve --sandbox`: `start_sandbox [ENV=VALUE ...]` starts the
# debug binary on a free port with a data dir of its own, waits for /healthz and sets `tmp`, `gw`,
# `base`, `login` and `key` (the first demo pair the banner prints: LiveChat API v2 when the sandbox
# serves both generations). The caller's EXIT trap stops it.
start_sandbox() {
  tmp=$(mktemp -d)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env "$@" "${CARGO_TARGET_DIR:-$root/target}/debug/livechat-gateway" serve --sandbox \
    --listen "127.0.0.1:$port" --database-url "sqlite://$tmp/sandbox.db" >"$tmp/gateway.log" 2>&1 &
  gw=$!
  trap 'kill $gw 2>/dev/null || true; wait $gw 2>/dev/null || true; rm -rf "$tmp"' EXIT
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  local demo
  demo=$(grep -m1 '^Demo credentials.*(HTTP Basic): ' "$tmp/gateway.log" || true)
  login=$(printf '%s\n' "$demo" | sed -n 's/^.*(HTTP Basic): \([^ ]*\) \/ \(.*\)$/\1/p')
  key=$(printf '%s\n' "$demo" | sed -n 's/^.*(HTTP Basic): \([^ ]*\) \/ \(.*\)$/\2/p')
  [ -n "$login" ] || { echo "no demo credentials in the sandbox banner:"; cat "$tmp/gateway.log"; exit 1; }
}
