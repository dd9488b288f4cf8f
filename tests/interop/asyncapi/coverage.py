"""Checks schemas/asyncapi.yaml against what the real bridge writes: every topic, message and
header (CloudEvents attribute, ce_* header, dead-letter header, dedup-marker header and field) the
bridge wrote in a run is described in the document, and the document describes nothing the
bridge did not write.

Input: the resolved document (validate.cjs output) and a manifest of produce_records.py
--with-other-names (both content modes, the 11 documented events, one undocumented name per
lifecycle, two dead letters). Exit 1 with one line per difference.

Usage: coverage.py ASYNCAPI_JSON MANIFEST
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python"))
from check import read_all  # noqa: E402  (the interop tests' topic reader)

# The document names the default topics (README "Configuration"); a run uses its own names.
DEFAULT_TOPICS = {"order": "cmr.order.events", "subscription": "cmr.subscription.events",
                  "prewarmup": "cmr.prewarmup.events", "deadletter": "cmr.webhooks.deadletter",
                  "dedup": "cmr.webhooks.dedup"}


def message_list(channel):
    operation = channel.get("subscribe") or channel.get("publish")
    message = operation["message"]
    return message.get("oneOf", [message])


def header_schema(message):
    for source in [message] + message.get("traits", []):
        if "headers" in source:
            return source["headers"]
    return {"properties": {}, "required": []}


def structured_schema(message):
    """(CloudEvent attribute schema, the `type` const or None) of a structured-mode message."""
    parts = message["payload"]["allOf"]
    return parts[0], parts[1]["properties"]["type"].get("const")


class Coverage:
    def __init__(self, document):
        self.document = document
        self.problems = set()
        self.used_messages = set()
        self.seen = {}  # schema name → union of names seen

    def names(self, where, seen, schema):
        """Seen names must be described, required ones present; remembers them for the union."""
        described = set(schema.get("properties", {}))
        for name in sorted(set(seen) - described):
            self.problems.add(f"{where}: '{name}' is written but not described")
        for name in sorted(set(schema.get("required", [])) - set(seen)):
            self.problems.add(f"{where}: required '{name}' is missing")
        # The parser resolves each $ref into a copy; its schema id names the shared original.
        schema_id = schema.get("x-parser-schema-id", where)
        self.seen.setdefault(schema_id, (schema_id, schema, set()))[2].update(seen)

    def record(self, role, mode, record):
        channel = self.document["channels"].get(DEFAULT_TOPICS[role])
        if channel is None:
            self.problems.add(f"topic of role {role} is written but not a channel")
            return
        headers = {n: v.decode() for n, v in record.headers() or []}
        messages = message_list(channel)
        if role in ("deadletter", "dedup"):
            message = messages[0]
            if role == "dedup":
                self.names("dedup-payload", json.loads(record.value()), message["payload"])
        elif mode == "binary":
            message = next(m for m in messages if m.get("contentType") == "application/json")
        else:
            value = json.loads(record.value())
            by_type = {structured_schema(m)[1]: m for m in messages
                       if m.get("contentType") != "application/json"}
            message = by_type.get(value["type"], by_type.get(None))
            if message is None:
                self.problems.add(f"{role}: no message describes type {value['type']}")
                return
            self.names("cloudevent-attributes", value, structured_schema(message)[0])
        self.used_messages.add((DEFAULT_TOPICS[role], message["name"]))
        self.names(f"{message['name']}-headers", headers, header_schema(message))

    def finish(self):
        for topic, channel in self.document["channels"].items():
            for message in message_list(channel):
                if (topic, message["name"]) not in self.used_messages:
                    self.problems.add(f"{topic}: message '{message['name']}' is described but "
                                      f"the bridge wrote no such record")
        for where, schema, seen in self.seen.values():
            for name in sorted(set(schema.get("properties", {})) - seen):
                self.problems.add(f"{where}: '{name}' is described but never written")


def main():
    document = json.loads(pathlib.Path(sys.argv[1]).read_text())
    manifest = json.loads(pathlib.Path(sys.argv[2]).read_text())
    coverage = Coverage(document)
    count = 0
    for mode in manifest["modes"]:
        for role, topic in mode["topics"].items():
            for record in read_all(manifest["brokers"], topic):
                coverage.record(role, mode["mode"], record)
                count += 1
    coverage.finish()
    for problem in sorted(coverage.problems):
        print("ASYNCAPI", problem)
    print(f"asyncapi coverage: {count} records, {len(coverage.used_messages)} messages of "
          f"{len(document['channels'])} channels, {len(coverage.problems)} differences")
    sys.exit(1 if coverage.problems else 0)


if __name__ == "__main__":
    main()
