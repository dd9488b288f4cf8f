"""Reference consumer for cmr-bridge: provisions orders, subscriptions and mailboxes from the three
lifecycle topics, exactly once in effect over at-least-once delivery.

The rules it demonstrates (docs/consumers.md explains them):
  * one consumer group over the three lifecycle topics, records parsed with the CloudEvents SDK
    (structured and binary content mode alike);
  * idempotent by CloudEvents `id`: the id is inserted into `processed_events` in the SAME
    database transaction as the effect, so a redelivered record finds it and changes nothing;
  * offsets are committed only after that transaction committed (enable.auto.commit=false), so a
    crash between effect and commit means a redelivery, never a lost event;
  * reordering: every state change is versioned by the sender's timestamp (the `cmrxtimestamp`
    extension attribute = cmr-x-timestamp); a change older than what is stored for the same
    entity field is recorded as processed but not applied (last writer by sender time wins; equal
    timestamps: the record read later wins).

Storage: SQLite by default (a file path), PostgreSQL with a postgresql:// URL (needs psycopg).

Usage:
  consumer.py --brokers HOST:PORT --group GROUP --topics ORDER,SUBSCRIPTION,PREWARMUP
              [--database provisioning.db | postgresql://user@host/db] [--exit-when-idle SECONDS]

Test hook (used by tests/interop/consumer/e2e_test.py, never set in production):
  PROVISIONING_PAUSE_AFTER_EFFECT=<event id>: after the transaction that applied that event has
  committed, and before its offset is committed, print "paused-after-effect <id>" and wait forever
  (the test then kills the process with SIGKILL).
"""

import argparse
import datetime
import json
import os
import signal
import sys
import time

from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from confluent_kafka import Consumer, KafkaError

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS processed_events (
         event_id TEXT PRIMARY KEY, type TEXT NOT NULL, topic TEXT NOT NULL,
         kafka_partition INTEGER NOT NULL, kafka_offset BIGINT NOT NULL,
         outcome TEXT NOT NULL, processed_at TEXT NOT NULL)""",
    # One row per order; each lifecycle step has its own status and the sender time it was set at.
    """CREATE TABLE IF NOT EXISTS orders (
         order_id TEXT PRIMARY KEY, user_id TEXT,
         domain_status TEXT, domain_name TEXT, domain_version BIGINT NOT NULL DEFAULT 0,
         mailbox_status TEXT, mailbox_quantity INTEGER, mailbox_version BIGINT NOT NULL DEFAULT 0,
         prewarmup_succeeded INTEGER NOT NULL DEFAULT 0,
         prewarmup_failed INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS subscriptions (
         subscription_id TEXT PRIMARY KEY, user_id TEXT, status TEXT NOT NULL,
         quantity INTEGER, version BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS mailboxes (
         mailbox_id TEXT PRIMARY KEY, order_id TEXT, user_id TEXT, origin TEXT)""",
    # mailbox.updated carries only the changed fields, so each field is versioned on its own.
    """CREATE TABLE IF NOT EXISTS mailbox_fields (
         mailbox_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT, version BIGINT NOT NULL,
         PRIMARY KEY (mailbox_id, name))""",
]
# Profile fields kept; credentials (password, appPassword, authenticatorSecret) are deliberately
# not stored by this example.
MAILBOX_FIELDS = ("email", "firstName", "lastName", "userName", "profilePicture")
SUBSCRIPTION_STATUS = {"subscription.renewal.success": "ACTIVE",
                       "subscription.renewal.failed": "PAST_DUE",
                       "subscription.cancelled": "CANCELLED"}


class Database:
    """A DB-API connection with one placeholder style ('?') for SQLite and PostgreSQL."""

    def __init__(self, location):
        if location.startswith(("postgresql://", "postgres://")):
            import psycopg  # optional: pip install "psycopg[binary]"
            self.connection = psycopg.connect(location)
            self.placeholder = "%s"
        else:
            import sqlite3
            self.connection = sqlite3.connect(location, isolation_level=None)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=FULL")
            self.placeholder = "?"
        self.sqlite = self.placeholder == "?"
        with self.transaction() as cursor:
            for statement in SCHEMA:
                cursor.execute(statement)

    def transaction(self):
        return _Transaction(self)


class _Transaction:
    def __init__(self, database):
        self.database = database

    def __enter__(self):
        connection = self.database.connection
        self.cursor = connection.cursor()
        if self.database.sqlite:
            self.cursor.execute("BEGIN IMMEDIATE")
        return self

    def execute(self, sql, parameters=()):
        self.cursor.execute(sql.replace("?", self.database.placeholder), parameters)
        return self.cursor

    def __exit__(self, kind, value, traceback):
        connection = self.database.connection
        if self.database.sqlite:
            self.cursor.execute("ROLLBACK" if kind else "COMMIT")
        elif kind:
            connection.rollback()
        else:
            connection.commit()
        return False


def sender_millis(event):
    """The sender's time of the event in Unix ms: cmrxtimestamp, else the `time` attribute."""
    stamp = event.get_extension("cmrxtimestamp")
    if stamp is not None and str(stamp).isdigit():
        value = int(stamp)
        return value if value >= 1_000_000_000_000 else value * 1000
    return round(event.get_time().timestamp() * 1000)


def set_mailbox_fields(tx, mailbox_id, fields, version):
    """Per field: applied when version >= the stored one. Returns the number of fields applied."""
    applied = 0
    for name, value in fields.items():
        if name not in MAILBOX_FIELDS:
            continue
        cursor = tx.execute(
            "INSERT INTO mailbox_fields (mailbox_id, name, value, version) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (mailbox_id, name) DO UPDATE SET value = excluded.value, "
            "version = excluded.version WHERE excluded.version >= mailbox_fields.version",
            (mailbox_id, name, None if value is None else str(value), version))
        applied += cursor.rowcount
    return applied


def ensure_mailbox(tx, mailbox_id, order_id, user_id, origin):
    tx.execute("INSERT INTO mailboxes (mailbox_id, order_id, user_id, origin) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (mailbox_id) DO UPDATE SET "
               "order_id = COALESCE(excluded.order_id, mailboxes.order_id), "
               "user_id = COALESCE(excluded.user_id, mailboxes.user_id), "
               "origin = COALESCE(excluded.origin, mailboxes.origin)",
               (mailbox_id, order_id, user_id, origin))


def set_order_step(tx, order_id, user_id, step, values, version):
    """Sets one step (domain or mailbox) of an order when version >= the step's stored one."""
    tx.execute("INSERT INTO orders (order_id, user_id) VALUES (?, ?) "
               "ON CONFLICT (order_id) DO NOTHING", (order_id, user_id))
    assignments = ", ".join(f"{step}_{name} = ?" for name in values)
    cursor = tx.execute(
        f"UPDATE orders SET {assignments}, {step}_version = ? "
        f"WHERE order_id = ? AND {step}_version <= ?",
        (*values.values(), version, order_id, version))
    return cursor.rowcount


def apply(tx, event):
    """Applies one event's effect; returns 'applied' or 'stale' (older than the stored state)."""
    kind, data, version = event.get_type(), event.get_data() or {}, sender_millis(event)
    if isinstance(data, (bytes, str)):
        data = json.loads(data)
    user = data.get("userId")
    if kind in ("domain.order.success", "domain.order.failed"):
        status = "registered" if kind.endswith("success") else "failed"
        changed = set_order_step(tx, data["orderId"], user, "domain",
                                 {"status": status, "name": data.get("domainName")}, version)
    elif kind in ("mailbox.order.success", "mailbox.order.failed"):
        status = "provisioned" if kind.endswith("success") else "failed"
        changed = set_order_step(tx, data["orderId"], user, "mailbox",
                                 {"status": status, "quantity": data.get("quantity")}, version)
    elif kind == "mailbox.created":
        ensure_mailbox(tx, data["mailboxId"], data.get("orderId"), user, "order")
        set_mailbox_fields(tx, data["mailboxId"], data, version)
        changed = 1  # the mailbox exists from now on, whatever the field versions say
    elif kind == "mailbox.updated":
        fields = data.get("updatedFields") if isinstance(data.get("updatedFields"), dict) else data
        ensure_mailbox(tx, data["mailboxId"], None, user, None)
        changed = set_mailbox_fields(tx, data["mailboxId"], fields, version)
    elif kind in SUBSCRIPTION_STATUS:
        cursor = tx.execute(
            "INSERT INTO subscriptions (subscription_id, user_id, status, quantity, version) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscription_id) DO UPDATE SET "
            "status = excluded.status, quantity = excluded.quantity, version = excluded.version "
            "WHERE excluded.version >= subscriptions.version",
            (data["subscriptionId"], user, SUBSCRIPTION_STATUS[kind], data.get("quantity"),
             version))
        changed = cursor.rowcount
    elif kind in ("prewarmup.order.success", "prewarmup.order.failed"):
        # One order can carry both (one per domain): flags, not a status, so order is irrelevant.
        flag = "prewarmup_succeeded" if kind.endswith("success") else "prewarmup_failed"
        tx.execute("INSERT INTO orders (order_id, user_id) VALUES (?, ?) "
                   "ON CONFLICT (order_id) DO NOTHING", (data["orderId"], user))
        tx.execute(f"UPDATE orders SET {flag} = 1 WHERE order_id = ?", (data["orderId"],))
        for domain in data.get("mailboxDetails") or []:
            for mailbox in domain.get("preWarmedUpMailboxes") or []:
                ensure_mailbox(tx, mailbox["mailboxId"], data["orderId"], user, "prewarmup")
                set_mailbox_fields(tx, mailbox["mailboxId"], mailbox, version)
        changed = 1
    else:
        return "ignored"  # another subscription.* name, say: record it, provision nothing
    return "applied" if changed else "stale"


def handle(database, record):
    """One record: effect and processed-event row in one transaction. Returns the outcome."""
    headers = {name: value for name, value in record.headers() or []}
    event = from_kafka_event(KafkaMessage(headers=headers, key=record.key(), value=record.value()))
    with database.transaction() as tx:
        seen = tx.execute("SELECT outcome FROM processed_events WHERE event_id = ?",
                          (event.get_id(),)).fetchone()
        if seen:
            return event, "duplicate"
        outcome = apply(tx, event)
        tx.execute("INSERT INTO processed_events (event_id, type, topic, kafka_partition, "
                   "kafka_offset, outcome, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (event.get_id(), event.get_type(), record.topic(), record.partition(),
                    record.offset(), outcome,
                    datetime.datetime.now(datetime.timezone.utc).isoformat()))
    return event, outcome


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--group", default="provisioning")
    parser.add_argument("--topics",
                        default="cmr.order.events,cmr.subscription.events,cmr.prewarmup.events")
    parser.add_argument("--database", default="provisioning.db")
    parser.add_argument("--session-timeout-ms", type=int, default=45000,
                        help="how long the group waits for a silent (killed) member before "
                             "handing its partitions to others")
    parser.add_argument("--exit-when-idle", type=float, default=0,
                        help="exit 0 after this many seconds with partitions assigned and no "
                             "record (0: run until SIGTERM)")
    args = parser.parse_args()
    pause_after = os.environ.get("PROVISIONING_PAUSE_AFTER_EFFECT")

    database = Database(args.database)
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "enable.auto.commit": False,         # commit only after the effect is stored
        "auto.offset.reset": "earliest",     # a new group starts at the beginning
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": args.session_timeout_ms,
    })
    assigned = set()

    def on_assign(_, partitions):
        assigned.update((p.topic, p.partition) for p in partitions)

    def on_revoke(_, partitions):
        assigned.difference_update((p.topic, p.partition) for p in partitions)

    consumer.subscribe(args.topics.split(","), on_assign=on_assign, on_revoke=on_revoke,
                       on_lost=on_revoke)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    idle_since = time.monotonic()
    try:
        while not stopping:
            record = consumer.poll(0.5)
            if record is None:
                if not assigned:
                    idle_since = time.monotonic()
                elif args.exit_when_idle and time.monotonic() - idle_since > args.exit_when_idle:
                    break
                continue
            if record.error():
                if record.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise SystemExit(f"kafka: {record.error()}")
            event, outcome = handle(database, record)
            print(json.dumps({"id": event.get_id(), "type": event.get_type(), "outcome": outcome,
                              "topic": record.topic(), "partition": record.partition(),
                              "offset": record.offset()}), flush=True)
            if outcome != "duplicate" and event.get_id() == pause_after:
                print(f"paused-after-effect {pause_after}", flush=True)
                while True:
                    time.sleep(60)
            consumer.commit(message=record, asynchronous=False)
            idle_since = time.monotonic()
    finally:
        consumer.close()


if __name__ == "__main__":
    sys.exit(main())
