"""Has the real bridge write the records the SDK interop checkers read, and records what was sent.

For each content mode (structured, binary) it starts build/cmr-bridge on fresh topics, posts the
11 documented examples (schemas/examples/, byte for byte, signed) and two requests that must be
dead-lettered (an unroutable event and a schema violation), and writes a manifest:

  {"modes": [{"mode": "structured", "topics": {...}, "events": [...], "deadletters": [...]}, ...]}

Each event entry names what an SDK must read back: id, type, source, subject (= the Kafka key),
time (Unix ms, from cmr-x-timestamp), datacontenttype, the `data` bytes (base64) and the
cmrxtimestamp extension. Each dead letter names its key, value bytes and the documented headers.

With --with-other-names it also sends one undocumented name per lifecycle (routed by its
pattern, published without a schema), listed under "others": the AsyncAPI coverage test needs a
record of every message the document describes.

Usage: produce_records.py BRIDGE_BINARY SOURCE_DIR MANIFEST_OUT [--with-other-names]
"""

import base64
import json
import pathlib
import sys
import time

import bridge

MODES = {"structured": "cloudevents-structured", "binary": "cloudevents-binary"}
# Route keys of the built-in table (README "Routing"): topic and key pointers per event prefix.
ROUTES = [("subscription.", "subscription", ["subscriptionId", "mailboxId", "userId"]),
          ("prewarmup.", "prewarmup", ["orderId", "mailboxId", "userId"]),
          ("", "order", ["orderId", "mailboxId", "userId"])]
OTHER_NAMES = [("domain.order.pending", '{"userId":"U-OTHER","orderId":"O-OTHER-1"}'),
               ("subscription.renewing", '{"userId":"U-OTHER","subscriptionId":"S-OTHER-1"}'),
               ("prewarmup.order.partial", '{"userId":"U-OTHER","orderId":"O-OTHER-2"}')]


def top_level_members(text):
    """(name, exact value text) of each top-level member of a JSON object, in order."""
    decoder = json.JSONDecoder()
    members, at = [], text.index("{") + 1

    def skip(position):
        while text[position] in " \t\r\n,":
            position += 1
        return position

    at = skip(at)
    while text[at] != "}":
        name, at = decoder.raw_decode(text, at)
        at = skip(at)
        assert text[at] == ":", f"expected ':' at {at}"
        start = skip(at + 1)
        _, end = decoder.raw_decode(text, start)
        members.append((name, text[start:end]))
        at = skip(end)
    return members


def route_of(event, data):
    for prefix, lifecycle, pointers in ROUTES:
        if event.startswith(prefix):
            key = next((data[p] for p in pointers if isinstance(data.get(p), str) and data[p]), "")
            return lifecycle, key
    raise AssertionError(event)


def send_mode(binary, source_dir, mode, other_names):
    topics = bridge.run_topics(mode)
    entry = {"mode": mode, "topics": topics, "events": [], "deadletters": [], "others": []}
    examples = sorted((source_dir / "schemas" / "examples").glob("*.json"))
    assert len(examples) == 11, f"expected the 11 documented examples, found {len(examples)}"
    with bridge.Bridge(binary, topics, MODES[mode]) as running:
        for number, path in enumerate(examples):
            raw = path.read_bytes()
            members = dict(top_level_members(raw.decode()))
            event, event_id = json.loads(members["event"]), json.loads(members["eventId"])
            data = json.loads(members["data"])
            # Alternate seconds and milliseconds: the sender's unit is not documented.
            now = time.time()
            timestamp = str(int(now * 1000)) if number % 2 else str(int(now))
            status, answer = running.post(raw, timestamp)
            assert status == 200 and answer.get("status") == "accepted", (path.name, status, answer)
            lifecycle, key = route_of(event, data)
            entry["events"].append({
                "topic": topics[lifecycle], "key": key, "id": event_id, "type": event,
                "source": bridge.SOURCE, "subject": key,
                "time_ms": bridge.timestamp_millis(timestamp),
                "datacontenttype": "application/json",
                "data_base64": base64.b64encode(members["data"].encode()).decode(),
                "cmrxtimestamp": timestamp,
            })
        for event, data_text in OTHER_NAMES if other_names else []:
            event_id = f"OTHER{mode.upper()}{event.upper()}"
            status, answer = running.post(
                bridge.body_with_data(event, event_id, data_text.encode()), str(int(time.time())))
            assert status == 200 and answer.get("status") == "accepted", (event, status, answer)
            entry["others"].append({"topic": topics[route_of(event, {})[0]], "id": event_id,
                                    "type": event})
        letters = [
            ("unroutable_event", "dns-record.updated", "DLQUNROUTABLE" + mode.upper(),
             '{"userId":"U-DLQ","domain":"company.com"}'),
            ("schema_violation", "domain.order.success", "DLQSCHEMA" + mode.upper(),
             '{"userId":"U-DLQ","orderId":"O-DLQ","price":"not a number"}'),
        ]
        for reason, event, event_id, data_text in letters:
            body = bridge.body_with_data(event, event_id, data_text.encode())
            timestamp = str(int(time.time()))
            status, answer = running.post(body, timestamp)
            assert status == 200 and answer.get("status") == "dead_lettered", \
                (reason, status, answer)
            entry["deadletters"].append({
                "topic": topics["deadletter"], "key": event_id,
                "value_base64": base64.b64encode(body).decode(),
                "headers": {"cmr-dlq-reason": reason, "cmr-event": event, "cmr-event-id": event_id,
                            "cmr-signature-scheme": "body-hex", "cmr-x-timestamp": timestamp},
                # Present with a value the sender cannot predict exactly.
                "headers_present": ["cmr-dlq-detail", "cmr-received-time"],
            })
    return entry


def main():
    binary, source_dir, out = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    other_names = "--with-other-names" in sys.argv[4:]
    manifest = {"brokers": bridge.brokers(),
                "modes": [send_mode(binary, source_dir, mode, other_names) for mode in MODES]}
    out.write_text(json.dumps(manifest, indent=1))
    counts = ", ".join(
        f"{m['mode']}: {len(m['events'])} events + {len(m['deadletters'])} dead letters"
        for m in manifest["modes"])
    print(f"produce_records: {counts} → {out}")


if __name__ == "__main__":
    main()
