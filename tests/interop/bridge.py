"""Runs the real cmr-bridge binary for the consumer-interop tests and sends it signed webhooks.

Standard library only, so every interop test (Python, Go, Java, AsyncAPI, the reference
consumer) drives the bridge the same way. The bridge listens on 127.0.0.1 port 0; its ports are
read from its "listening" log line. Topic names carry a per-run suffix so that runs against a
shared broker never see each other's records.
"""

import hashlib
import hmac
import http.client
import json
import os
import re
import subprocess
import threading
import time
import uuid

SIGNING_KEY = "interop-test-signing-key"
SOURCE = "cmr-interop"


def brokers():
    """The broker of the Kafka tier, as in tests/support (CMR_BRIDGE_TEST_KAFKA_BROKERS)."""
    return os.environ.get("CMR_BRIDGE_TEST_KAFKA_BROKERS", "127.0.0.1:9092")


def run_topics(label):
    """Fresh topic names for one bridge run: {order, subscription, prewarmup, deadletter, dedup}."""
    suffix = f"{label}.{uuid.uuid4().hex[:12]}"
    return {
        "order": f"interop.order.{suffix}",
        "subscription": f"interop.subscription.{suffix}",
        "prewarmup": f"interop.prewarmup.{suffix}",
        "deadletter": f"interop.deadletter.{suffix}",
        "dedup": f"interop.dedup.{suffix}",
    }


class Bridge:
    """One cmr-bridge child process. Use as a context manager; SIGTERM on exit."""

    def __init__(self, binary, topics, record_format="cloudevents-structured", extra_env=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CMR_BRIDGE_")}
        env.update({
            "CMR_BRIDGE_SIGNING_KEYS": SIGNING_KEY,
            "CMR_BRIDGE_KAFKA_BROKERS": brokers(),
            "CMR_BRIDGE_LISTEN": "127.0.0.1:0",
            "CMR_BRIDGE_ADMIN_LISTEN": "127.0.0.1:0",
            "CMR_BRIDGE_DRAIN_DELAY_S": "0",
            "CMR_BRIDGE_RECORD_FORMAT": record_format,
            "CMR_BRIDGE_CLOUDEVENTS_SOURCE": SOURCE,
            "CMR_BRIDGE_TOPIC_ORDER": topics["order"],
            "CMR_BRIDGE_TOPIC_SUBSCRIPTION": topics["subscription"],
            "CMR_BRIDGE_TOPIC_PREWARMUP": topics["prewarmup"],
            "CMR_BRIDGE_TOPIC_DEADLETTER": topics["deadletter"],
            "CMR_BRIDGE_DEDUP_TOPIC": topics["dedup"],
            "CMR_BRIDGE_TOPIC_PARTITIONS": "3",
            "CMR_BRIDGE_HTTP_THREADS": "4",
            "CMR_BRIDGE_MAX_IN_FLIGHT": "4",
        })
        env.update(extra_env or {})
        self._process = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self._listening = threading.Event()
        self.port = self.admin_port = None
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        if not self._listening.wait(60) or self.port is None:
            self.stop()
            raise RuntimeError("cmr-bridge did not start listening:\n"
                               + "\n".join(self.lines[-20:]))
        self._wait_ready(120)

    def _read_output(self):
        for line in self._process.stdout:
            self.lines.append(line.rstrip("\n"))
            if '"msg":"listening"' in line:
                webhook = re.search(r'"webhook_port":(\d+)', line)
                admin = re.search(r'"admin_port":(\d+)', line)
                if webhook and admin:
                    self.port, self.admin_port = int(webhook.group(1)), int(admin.group(1))
                self._listening.set()
        self._listening.set()

    def _wait_ready(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=2)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("cmr-bridge never became ready:\n" + "\n".join(self.lines[-20:]))

    def post(self, body, timestamp):
        """POSTs body (bytes) signed body-only, hex; returns (status, parsed JSON answer)."""
        signature = hmac.new(SIGNING_KEY.encode(), body, hashlib.sha256).hexdigest()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request("POST", "/webhooks", body=body, headers={
            "Content-Type": "application/json",
            "cmr-x-signature": signature,
            "cmr-x-timestamp": str(timestamp),
        })
        response = connection.getresponse()
        answer = response.read()
        return response.status, json.loads(answer) if answer else {}

    def stop(self):
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reader.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def timestamp_millis(header_value):
    """cmr-x-timestamp → Unix milliseconds: the bridge reads values ≥ 1e12 as milliseconds."""
    value = int(header_value)
    return value if value >= 1_000_000_000_000 else value * 1000


def body_with_data(event, event_id, data_bytes):
    """A CMR envelope whose `data` is exactly data_bytes (the bytes a record must carry)."""
    return (json.dumps({"event": event, "eventId": event_id}, separators=(",", ":"))[:-1]
            + ',"data":' + data_bytes.decode() + "}").encode()
