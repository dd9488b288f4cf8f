"""End-to-end test of examples/provisioning-consumer against the real bridge and broker.

Script: the bridge (port 0, fresh topics) receives an order, subscription and pre-warmed-mailbox
lifecycle. The consumer is stopped by SIGKILL after storing an effect and before committing its
offset. While it is down the sender retries (the bridge answers `duplicate`), a second replica with
dedup off publishes one event a second time (the at-least-once duplicate consumers must absorb),
and late events arrive with older sender timestamps (a replica replaying its spool). The consumer
restarts, and the final provisioning state is compared exactly with the expected one; every
partition's committed offset must be at its end.

Usage: e2e_test.py BRIDGE_BINARY [DATABASE_URL]
  default: a fresh SQLite file; a postgresql:// URL must name an empty database, e.g. one made by
  `createdb provisioning_e2e` (the test compares whole tables).
"""

import json
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from confluent_kafka import Consumer, TopicPartition

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import bridge  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]
CONSUMER = ROOT / "examples" / "provisioning-consumer" / "consumer.py"


def event(name, data, offset_s, millis=False):
    """(eventId, name, data, sender timestamp relative to the run's base, in s or ms)."""
    return {"id": f"E2E-{uuid.uuid4().hex[:16].upper()}", "event": name, "data": data,
            "offset_s": offset_s, "millis": millis}


def post(running, e, base, expect="accepted"):
    stamp = (base + e["offset_s"]) * 1000 if e["millis"] else base + e["offset_s"]
    body = bridge.body_with_data(e["event"], e["id"], json.dumps(e["data"]).encode())
    status, answer = running.post(body, stamp)
    if status != 200 or answer.get("status") != expect:
        raise AssertionError(f"{e['event']} {e['id']}: {status} {answer}, expected 200 {expect}")


class ConsumerProcess:
    def __init__(self, args, env=None):
        import os
        self.process = subprocess.Popen([sys.executable, str(CONSUMER), *args],
                                        env={**os.environ, **(env or {})},
                                        stdout=subprocess.PIPE, text=True)
        self.outcomes = []

    def read_until(self, marker, seconds):
        deadline = time.monotonic() + seconds
        for line in self.process.stdout:
            line = line.strip()
            if line.startswith("{"):
                self.outcomes.append(json.loads(line))
            if line == marker:
                return
            if time.monotonic() > deadline:
                break
        raise AssertionError(f"consumer: no '{marker}' within {seconds} s; read {self.outcomes}")

    def wait_exit(self, seconds):
        for line in self.process.stdout:
            if line.startswith("{"):
                self.outcomes.append(json.loads(line))
        return self.process.wait(seconds)


def dump_state(database):
    """Every provisioning table, rows sorted, without bookkeeping columns."""
    import sqlite3
    if database.startswith("postgres"):
        import psycopg
        connection = psycopg.connect(database)
    else:
        connection = sqlite3.connect(database)
    queries = {
        "orders": "SELECT order_id, user_id, domain_status, domain_name, mailbox_status, "
                  "mailbox_quantity, prewarmup_succeeded, prewarmup_failed FROM orders",
        "subscriptions": "SELECT subscription_id, user_id, status, quantity FROM subscriptions",
        "mailboxes": "SELECT mailbox_id, order_id, user_id, origin FROM mailboxes",
        "mailbox_fields": "SELECT mailbox_id, name, value FROM mailbox_fields",
        "processed": "SELECT event_id, outcome FROM processed_events",
    }
    state = {name: sorted(tuple(row) for row in connection.execute(sql).fetchall())
             for name, sql in queries.items()}
    connection.close()
    return state


def committed_lag(brokers, group, topics):
    """Records not yet committed by group, summed over every partition of topics."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group})
    try:
        lag = 0
        for topic in topics:
            partitions = [TopicPartition(topic, p) for p in
                          consumer.list_topics(topic, timeout=30).topics[topic].partitions]
            for tp in consumer.committed(partitions, timeout=30):
                high = consumer.get_watermark_offsets(tp, timeout=30)[1]
                lag += high - (tp.offset if tp.offset >= 0 else 0)
        return lag
    finally:
        consumer.close()


def main():
    binary = sys.argv[1]
    work = pathlib.Path(tempfile.mkdtemp(prefix="provisioning-e2e-"))
    database = sys.argv[2] if len(sys.argv) > 2 else str(work / "provisioning.db")
    topics = bridge.run_topics("e2e")
    lifecycle_topics = [topics["order"], topics["subscription"], topics["prewarmup"]]
    group = f"provisioning-e2e-{uuid.uuid4().hex[:8]}"
    consumer_args = ["--brokers", bridge.brokers(), "--group", group,
                     "--session-timeout-ms", "6000",
                     "--topics", ",".join(lifecycle_topics), "--database", database]
    base = int(time.time()) - 120  # sender timestamps: base + n seconds, inside the ±300 s window

    U, O1, O2, O3, S1, P1 = "U-E2E", "O-E2E-1", "O-E2E-2", "O-E2E-3", "S-E2E-1", "P-E2E-1"
    domain_ok = event("domain.order.success", {
        "userId": U, "userEmail": "u@example.com", "orderId": O1, "domainId": "D1",
        "domainName": "example.com", "creationTime": "2026-11-30T00:00:00Z",
        "expiryDate": "2027-11-30T00:00:00Z", "price": 15.88}, 1)
    mailbox_order = event("mailbox.order.success", {
        "domainId": "D1", "domainName": "example.com", "userId": U, "userEmail": "u@example.com",
        "subscriptionId": S1, "orderId": O1, "workspaceType": "GOOGLE",
        "creationTime": "2026-11-30T00:00:00Z", "expiryDate": "2027-11-30T00:00:00Z",
        "price": 6.0, "quantity": 2}, 2)
    created_m1 = event("mailbox.created", {"userId": U, "orderId": O1, "mailboxId": "M1",
                                           "email": "jose@example.com", "firstName": "José",
                                           "lastName": "Müller", "password": "secret"}, 3)
    created_m2 = event("mailbox.created", {"userId": U, "orderId": O1, "mailboxId": "M2",
                                           "email": "ana@example.com", "firstName": "Ana"}, 4)
    updated_m1 = event("mailbox.updated", {"userId": U, "mailboxId": "M1", "firstName": "Joe"}, 10)
    late_updated_m1 = event("mailbox.updated", {"userId": U, "mailboxId": "M1",
                                                "firstName": "Stale", "lastName": "Miller"}, 5)
    renewed = event("subscription.renewal.success", {
        "userId": U, "userEmail": "u@example.com", "subscriptionId": S1,
        "workspaceType": "GOOGLE", "quantity": 2}, 20)
    cancelled = event("subscription.cancelled", {
        "userId": U, "userEmail": "u@example.com", "subscriptionId": S1,
        "workspaceType": "GOOGLE", "quantity": 2}, 30)
    late_renewed = event("subscription.renewal.success", {
        "userId": U, "userEmail": "u@example.com", "subscriptionId": S1,
        "workspaceType": "GOOGLE", "quantity": 3}, 25)
    prewarm_ok = event("prewarmup.order.success", {
        "userId": U, "userEmail": "u@example.com", "orderId": P1, "serviceProvider": "MICROSOFT",
        "mailboxDetails": [{"domain": "warm.example", "subscriptionId": "S-WARM",
                            "preWarmedUpMailboxes": [{"mailboxId": "PM1", "email": "w@warm.example",
                                                      "firstName": "Wendy", "password": "x"}]}]},
                       40, millis=True)
    prewarm_failed = event("prewarmup.order.failed", {"userId": U, "orderId": P1,
                                                      "serviceProvider": "MICROSOFT"}, 41, True)
    domain_failed = event("domain.order.failed", {"userId": U, "orderId": O2,
                                                  "domainName": "taken.example"}, 50)
    early_updated_m3 = event("mailbox.updated", {"userId": U, "mailboxId": "M3",
                                                 "updatedFields": {"lastName": "Newer"}}, 61)
    created_m3 = event("mailbox.created", {"userId": U, "orderId": O3, "mailboxId": "M3",
                                           "firstName": "Eve", "lastName": "Original"}, 60)

    dedup_off = {"CMR_BRIDGE_DEDUP": "false"}
    with bridge.Bridge(binary, topics) as running:
        for e in (domain_ok, mailbox_order, created_m1, created_m2):
            post(running, e, base)
        # 1. The consumer stores mailbox_order's effect, then dies before committing its offset.
        first = ConsumerProcess(consumer_args,
                                {"PROVISIONING_PAUSE_AFTER_EFFECT": mailbox_order["id"]})
        first.read_until(f"paused-after-effect {mailbox_order['id']}", 120)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(30)
        assert [o["id"] for o in first.outcomes] == [domain_ok["id"], mailbox_order["id"]], \
            first.outcomes
        stored = dict(dump_state(database)["processed"])
        assert stored.get(mailbox_order["id"]) == "applied", stored
        assert committed_lag(bridge.brokers(), group, lifecycle_topics) == 3, \
            "exactly mailbox_order, created_m1 and created_m2 must be uncommitted after the kill"

        # 2. While it is down: a sender retry, later and late events, a replica's duplicate.
        post(running, created_m2, base, expect="duplicate")
        for e in (updated_m1, late_updated_m1, renewed, cancelled, late_renewed, prewarm_ok,
                  prewarm_failed, domain_failed, early_updated_m3, created_m3):
            post(running, e, base)
    with bridge.Bridge(binary, topics, extra_env=dedup_off) as replica:
        post(replica, updated_m1, base)  # published a second time: a duplicate record on Kafka

    # 3. Restart; it exits once it has seen nothing for 15 s.
    second = ConsumerProcess(consumer_args + ["--exit-when-idle", "15"])
    assert second.wait_exit(180) == 0, "consumer did not exit cleanly"
    outcomes = {}
    for o in second.outcomes:
        outcomes.setdefault(o["id"], []).append(o["outcome"])
    expected_outcomes = {
        mailbox_order["id"]: ["duplicate"],            # redelivered after the kill: no effect
        created_m1["id"]: ["applied"], created_m2["id"]: ["applied"],
        updated_m1["id"]: ["applied", "duplicate"],    # the replica's copy changes nothing
        late_updated_m1["id"]: ["applied"],            # lastName is newer; firstName is not
        renewed["id"]: ["applied"], cancelled["id"]: ["applied"],
        late_renewed["id"]: ["stale"],                 # older than the cancellation
        prewarm_ok["id"]: ["applied"], prewarm_failed["id"]: ["applied"],
        domain_failed["id"]: ["applied"],
        early_updated_m3["id"]: ["applied"], created_m3["id"]: ["applied"],
    }
    # Records of different keys sit on different partitions: compare per id, not globally.
    if outcomes != expected_outcomes:
        raise AssertionError(f"outcomes after restart:\n{json.dumps(outcomes, indent=1)}\n"
                             f"expected:\n{json.dumps(expected_outcomes, indent=1)}")
    lag = committed_lag(bridge.brokers(), group, lifecycle_topics)
    assert lag == 0, f"{lag} records left uncommitted"

    state = dump_state(database)
    expected = {
        "orders": sorted([
            (O1, U, "registered", "example.com", "provisioned", 2, 0, 0),
            (O2, U, "failed", "taken.example", None, None, 0, 0),
            (P1, U, None, None, None, None, 1, 1),
        ]),
        "subscriptions": [(S1, U, "CANCELLED", 2)],
        "mailboxes": sorted([("M1", O1, U, "order"), ("M2", O1, U, "order"),
                             ("M3", O3, U, "order"), ("PM1", P1, U, "prewarmup")]),
        "mailbox_fields": sorted([
            ("M1", "email", "jose@example.com"), ("M1", "firstName", "Joe"),
            ("M1", "lastName", "Miller"),
            ("M2", "email", "ana@example.com"), ("M2", "firstName", "Ana"),
            ("M3", "firstName", "Eve"), ("M3", "lastName", "Newer"),
            ("PM1", "email", "w@warm.example"), ("PM1", "firstName", "Wendy"),
        ]),
        "processed": sorted(
            [(domain_ok["id"], "applied"), (mailbox_order["id"], "applied")]
            + [(i, o[0]) for i, o in expected_outcomes.items() if i != mailbox_order["id"]]),
    }
    for table in expected:
        if state[table] != expected[table]:
            raise AssertionError(
                f"{table}:\n  got      {state[table]}\n  expected {expected[table]}")
    records = len(first.outcomes) + len(second.outcomes)
    print(f"reference consumer e2e: {records} records consumed over a SIGKILL and a restart, "
          f"{len(expected['processed'])} distinct events, final state exact, lag 0 "
          f"({'PostgreSQL' if database.startswith('postgres') else 'SQLite'})")


if __name__ == "__main__":
    main()
