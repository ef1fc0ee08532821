"""The soak's load and its verdict (run through bench/soak). Standard library only.

Three streams at fixed rates, each on its own thread, for --seconds:
  actions    the v2 demo connection: ListAgents, ListTickets, CreateTicket, GetTicket,
             UpdateTicket in turn, 1.2 calls/s (72 a minute: under the 100/60 s throttle,
             so every answer must be 2xx)
  throttled  the v3 demo connection, ListAgents at 4 calls/s: past its quota, 429 with
             Retry-After is the expected answer, 2xx the other one
  intake     POST /sandbox/events/chat_started at 2/s: LiveChat's stand-in posts the event to
             the gateway's intake, which relays it to a local flow (subscribed first)
RSS of the gateway is read from /proc every 5 s. The verdict fails on any other status, on a
fired event the flow did not get, or when RSS at the end exceeds the warm-up RSS (after the
first fifth of the run) by more than 20 % + 8 MiB.
"""

import argparse
import base64
import http.server
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Flow(http.server.BaseHTTPRequestHandler):
    received = set()
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        note = json.loads(body)
        with Flow.lock:
            Flow.received.add(note.get("event_unique_id"))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(base, method, path, auth=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if auth:
        req.add_header("Authorization", auth)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


def basic(login, key):
    return "Basic " + base64.b64encode(f"{login}:{key}".encode()).decode()


class Stream:
    def __init__(self, name, rate, step, allowed):
        self.name, self.rate, self.step, self.allowed = name, rate, step, allowed
        self.statuses, self.unexpected = {}, []

    def run(self, until):
        n, start = 0, time.monotonic()
        while time.monotonic() < until:
            status, body = self.step(n)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status not in self.allowed and len(self.unexpected) < 10:
                self.unexpected.append((status, body[:200]))
            n += 1
            time.sleep(max(0.0, start + n / self.rate - time.monotonic()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--seconds", type=int, default=600)
    args = ap.parse_args()
    base = args.base

    banner = open(args.log).read()
    pairs = re.findall(r"\(HTTP Basic\): (\S+) / (\S+)", banner)
    if len(pairs) < 2:
        sys.exit(f"no v2 and v3 demo pairs in the banner:\n{banner}")
    v2, v3 = basic(*pairs[0]), basic(*pairs[1])

    flow = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flow)
    threading.Thread(target=flow.serve_forever, daemon=True).start()
    status, body = call(base, "POST", "/chat_starts_webhook/webhooks", v2,
                        {"url": f"http://127.0.0.1:{flow.server_port}/flow"})
    if status != 201:
        sys.exit(f"subscribe: {status} {body[:200]}")

    tickets = []

    def action(n):
        kind = n % 5
        if kind == 0:
            return call(base, "GET", "/agents", v2)
        if kind == 1:
            return call(base, "GET", "/tickets?status=open", v2)
        if kind == 2:
            status, body = call(base, "POST", "/tickets", v2, {
                "message": f"soak {n}", "subject": "soak",
                "requester": {"mail": "soak@example.com"}})
            if status == 200:
                tickets.append(json.loads(body)["id"])
            return status, body
        if not tickets:
            return call(base, "GET", "/agents", v2)
        if kind == 3:
            return call(base, "GET", f"/tickets/{tickets[-1]}", v2)
        return call(base, "PUT", f"/tickets/{tickets[-1]}/tags", v2, {
            "tags": [f"t{n % 7}"], "requester": {"mail": "soak@example.com"}})

    fired = []

    def intake(n):
        status, body = call(base, "POST", "/sandbox/events/chat_started")
        if status == 200:
            fired.extend(d for d in json.loads(body)["deliveries"])
        return status, body

    streams = [
        Stream("actions", 1.2, action, {200, 201}),
        Stream("throttled", 4.0, lambda n: call(base, "GET", "/agents", v3), {200, 429}),
        Stream("intake", 2.0, intake, {200}),
    ]
    started = time.monotonic()
    until = started + args.seconds
    threads = [threading.Thread(target=s.run, args=(until,)) for s in streams]
    for t in threads:
        t.start()
    samples = []
    while time.monotonic() < until:
        samples.append((round(time.monotonic() - started), rss_kib(args.pid)))
        time.sleep(5)
    for t in threads:
        t.join()
    samples.append((round(time.monotonic() - started), rss_kib(args.pid)))

    # Every event LiveChat's stand-in handed to the intake with a 200 reaches the flow.
    refused = [d for d in fired if d.get("status") != 200]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with Flow.lock:
            if len(Flow.received) >= len(fired) - len(refused):
                break
        time.sleep(0.2)
    delivered = len(Flow.received)

    warm = [kib for t, kib in samples if t >= args.seconds / 5] or [samples[-1][1]]
    warm_kib, end_kib, peak_kib = warm[0], samples[-1][1], max(k for _, k in samples)
    flat = end_kib <= warm_kib * 1.2 + 8 * 1024
    calls = sum(sum(s.statuses.values()) for s in streams)
    print(f"soak: {args.seconds} s, {calls} calls, "
          + ", ".join(f"{s.name} {dict(sorted(s.statuses.items()))}" for s in streams))
    print(f"soak: {len(fired)} events fired, {len(refused)} refused by the intake, "
          f"{delivered} delivered to the flow")
    print(f"soak: RSS {samples[0][1] // 1024} MiB at start, {warm_kib // 1024} MiB after warm-up, "
          f"{peak_kib // 1024} MiB peak, {end_kib // 1024} MiB at the end "
          f"({'flat' if flat else 'GROWING'})")
    print("soak: RSS samples (s, KiB): " + " ".join(f"{t}:{k}" for t, k in samples))
    failed = False
    for s in streams:
        if s.unexpected:
            failed = True
            print(f"soak: unexpected answers on {s.name}: {s.unexpected}")
    if refused or delivered < len(fired):
        failed = True
        print(f"soak: events lost: {len(fired) - delivered} (refused {refused[:5]})")
    if not flat:
        failed = True
    print("soak: " + ("FAILED" if failed else "passed"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
