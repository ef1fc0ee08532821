"""Counts what a schemathesis NDJSON report shows: cases generated, and DeleteHook calls that
removed a subscription (so the stateful phase really followed subscribe -> DeleteHook)."""
import json
import sys

cases, deleted, failed = set(), 0, 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            event = json.loads(line)
            scenario = event.get("ScenarioFinished")
            if not scenario:
                continue
            recorder = scenario["recorder"]
            cases.update(recorder.get("cases", {}))
            for case_id, interaction in recorder.get("interactions", {}).items():
                request, response = interaction["request"], interaction.get("response") or {}
                if (request["method"] == "DELETE" and "/webhooks/" in request["uri"]
                        and response.get("status_code") == 204):
                    deleted += 1
            for checks in recorder.get("checks", {}).values():
                failed += sum(c["status"] == "failure" for c in checks)
print(f"cases={len(cases)} delete_hook={deleted} failed_checks={failed}")
