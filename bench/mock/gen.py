#!/usr/bin/env python3
"""Writes the static answers the mock LiveChat serves: a 1.6 KB agents list and a 25 KB ticket
with 60 events, in LiveChat v2's shapes (livechat-v2.md), including the uncertain ones the
gateway rewrites: unix-second dates, groups as ids or objects, counts as strings."""
import json, sys, os

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)

agents = []
for i, (login, name, perm, status, groups) in enumerate([
    ("jane.doe@example.com", "Jane Doe", "administrator", "accepting chats", [0, 1]),
    ("mark.smith@example.com", "Mark Smith", "normal", "not accepting chats", [{"id": 0, "name": "General"}, {"id": 2, "name": "Sales"}]),
    ("ann.lee@example.com", "Ann Lee", "normal", "offline", [0]),
    ("li.wei@example.com", "Li Wei", "normal", "accepting chats", [0, 2]),
    ("tom.green@example.com", "Tom Green", "administrator", "offline", [1]),
]):
    agents.append({
        "login": login, "name": name, "permission": perm, "status": status,
        "login_status": "accepting chats" if status != "offline" else "not accepting chats",
        "avatar": f"livechat.s3.amazonaws.com/1/2012/10/{i:02d}/avatar{i:04d}.png",
        "job_title": "Support Agent", "groups": groups,
        "max_chats_count": "6" if i % 2 else 6,
        "last_logout": 0 if status != "offline" else 1384788402 + i,
        "daily_summary": 1,
    })
agents_json = json.dumps(agents, separators=(",", ":"))

events = []
for n in range(60):
    agent = n % 2 == 1
    events.append({
        "author": {"id": "jane.doe@example.com" if agent else "mary.brown@email.com",
                   "name": "Jane Doe" if agent else "Mary Brown",
                   "type": "agent" if agent else "client"},
        "date": 1384554270 + n * 97,
        "is_private": False,
        "message": (f"Message {n}: " + ("Thank you for your patience, I am checking the order "
                    "status with our warehouse right now and will get back to you shortly. "
                    if agent else "Hello, my new shoes arrived broken and I would like a "
                    "replacement pair in the same size, or a refund if that is not possible. "))
                   + "Order 100234, size 42, paid by card on the 12th, tracking 1Z999AA1.",
        "source": {"type": "chat-window", "url": "https://www.example.com/contact"},
        "type": "message",
    })
ticket = {
    "assignee": {"id": "jane.doe@example.com", "name": "Jane Doe"},
    "events": events,
    "id": "6W6TC",
    "requester": {"mail": "mary.brown@email.com", "name": "Mary Brown", "ip": "192.0.2.10", "utc_offset": "+01:00"},
    "groups": [{"id": 0, "name": "General"}, 2],
    "currentGroup": {"id": 0, "name": "General"},
    "opened": [{"from": 1384554260, "to": 1384554270}],
    "status": "open", "subject": "My new shoes are broken", "tags": ["support", "shoes"],
    "modified": 1384790802,
    "source": {"type": "chat-window", "url": "https://www.example.com/contact"},
}
ticket_json = json.dumps(ticket, separators=(",", ":"))
for name, body in [("agents.json", agents_json), ("ticket.json", ticket_json)]:
    with open(os.path.join(out, name), "w") as f:
        f.write(body)
    print(f"{name}: {len(body)} bytes", file=sys.stderr)
