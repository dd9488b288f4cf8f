"""Reads the records the real bridge wrote (tests/interop/produce_records.py) with the Python
CloudEvents SDK's Kafka binding (cloudevents 2.x, cloudevents.core.bindings.kafka) over
confluent-kafka, and checks every attribute and the data against what was sent. Exit 1 on any
mismatch.

Usage: check.py MANIFEST
"""

import base64
import datetime
import json
import sys

from confluent_kafka import Consumer, TopicPartition

# snippet:begin python
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event


def read_event(record):
    """One confluent_kafka Message, structured or binary mode → a CloudEvent."""
    headers = {name: value for name, value in record.headers() or []}
    return from_kafka_event(KafkaMessage(headers=headers, key=record.key(), value=record.value()))
# snippet:end python


def read_all(brokers, topic):
    """Every record of topic, all partitions, from the start to the high-water mark."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "interop-check",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        metadata = consumer.list_topics(topic, timeout=30)
        partitions = [TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions]
        pending = set()
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=30)
            if high > low:
                pending.add(tp.partition)
        consumer.assign(partitions)
        records = []
        while pending:
            record = consumer.poll(30)
            if record is None:
                raise RuntimeError(f"{topic}: no record within 30 s")
            if record.error():
                if record.error().code() == -191:  # _PARTITION_EOF
                    pending.discard(record.partition())
                    continue
                raise RuntimeError(f"{topic}: {record.error()}")
            records.append(record)
        return records
    finally:
        consumer.close()


def main():
    manifest = json.loads(open(sys.argv[1]).read())
    brokers = manifest["brokers"]
    failures = []
    for mode in manifest["modes"]:
        checked = letters = 0
        by_topic = {}
        for expected in mode["events"]:
            by_topic.setdefault(expected["topic"], []).append(expected)
        for topic, expected_events in by_topic.items():
            records = read_all(brokers, topic)
            if len(records) != len(expected_events):
                failures.append(f"{mode['mode']} {topic}: {len(records)} records, "
                                f"expected {len(expected_events)}")
            found = {}
            for record in records:
                try:
                    event = read_event(record)
                except Exception as error:  # the SDK's own exception types vary by version
                    failures.append(
                        f"{mode['mode']} {topic}@{record.offset()}: unreadable: {error!r}")
                    continue
                found[event.get_id()] = (record, event)
            for want in expected_events:
                if want["id"] not in found:
                    failures.append(f"{mode['mode']} {topic}: no record with id {want['id']}")
                    continue
                record, event = found[want["id"]]
                sent_data = base64.b64decode(want["data_base64"])
                data = event.get_data()
                time = event.get_time()
                extensions = event.get_extension
                checks = [
                    ("id", event.get_id(), want["id"]),
                    ("type", event.get_type(), want["type"]),
                    ("source", event.get_source(), want["source"]),
                    ("subject", event.get_subject(), want["subject"]),
                    ("partitionkey", extensions("partitionkey"), want["key"] or None),
                    ("kafka key", (record.key() or b"").decode(), want["key"]),
                    ("time", time and round(time.timestamp() * 1000), want["time_ms"]),
                    ("datacontenttype", event.get_datacontenttype(), want["datacontenttype"]),
                    ("cmrxtimestamp", extensions("cmrxtimestamp"), want["cmrxtimestamp"]),
                    ("specversion", event.get_specversion(), "1.0"),
                ]
                # The SDK hands JSON data over parsed (dict), bytes only when it did not parse
                # them: compare bytes where it gives bytes, the parsed value where it does not.
                if isinstance(data, (bytes, bytearray)):
                    checks.append(("data bytes", bytes(data), sent_data))
                else:
                    checks.append(("data (parsed by the SDK)", data, json.loads(sent_data)))
                for name, got, sent in checks:
                    if got != sent:
                        failures.append(f"{mode['mode']} {want['id']} {want['type']}: "
                                        f"{name} = {got!r}, sent {sent!r}")
                if mode["mode"] == "binary" and record.value() != sent_data:
                    failures.append(f"{mode['mode']} {want['id']}: record value differs from data")
                checked += 1
        if mode["deadletters"]:
            records = read_all(brokers, mode["deadletters"][0]["topic"])
            by_key = {(r.key() or b"").decode(): r for r in records}
            for want in mode["deadletters"]:
                record = by_key.get(want["key"])
                if record is None:
                    failures.append(f"{mode['mode']} dead letter {want['key']}: not found")
                    continue
                headers = {n: v.decode() for n, v in record.headers() or []}
                if record.value() != base64.b64decode(want["value_base64"]):
                    failures.append(f"{mode['mode']} dead letter {want['key']}: value differs")
                for name, text in want["headers"].items():
                    if headers.get(name) != text:
                        failures.append(f"{mode['mode']} dead letter {want['key']}: "
                                        f"header {name} = {headers.get(name)!r}, "
                                        f"expected {text!r}")
                for name in want["headers_present"]:
                    if not headers.get(name):
                        failures.append(f"{mode['mode']} dead letter {want['key']}: no {name}")
                received = headers.get("cmr-received-time", "")
                try:
                    datetime.datetime.fromisoformat(received.replace("Z", "+00:00"))
                except ValueError:
                    failures.append(f"{mode['mode']} dead letter: cmr-received-time {received!r}")
                letters += 1
        print(f"python cloudevents/confluent-kafka: {mode['mode']} mode: {checked} event records "
              f"and {letters} dead letters checked")
    for failure in failures:
        print("MISMATCH", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
