#!/usr/bin/env python3
"""Checks of the Helm chart's rendered manifests, the alert rules and the Grafana dashboard.

Called by tests/k8s/check.sh (which provides PyYAML through its virtualenv); each subcommand
prints what it checked and exits non-zero on the first class of failure it finds.

  env RENDERED --binary BIN [--allow-pending]
      Every environment variable the chart sets on the cmr-bridge container must be one the
      binary accepts (the names `BIN --help` lists; CMR_BRIDGE_KAFKA_PROP_<NAME> as a prefix),
      none twice. Then `BIN check-config` runs with exactly that environment: values from
      secretKeyRef / configMapKeyRef are taken from the rendered Secret / ConfigMap, or a
      placeholder when the chart expects an existing one; files the container would see
      (ConfigMap and Secret volumes, the spool volume) are written to a temporary root and the
      paths in the environment are pointed there. Names in pending-env.txt (features of later
      issues) are accepted with --allow-pending and reported.

  manifests RENDERED --kind Deployment|StatefulSet --rules FILE --dashboard FILE --binary BIN
      Structural assertions the issue asks for: workload kind (StatefulSet + volumeClaimTemplate
      + headless Service when the spool is on), security context, probes on the admin port,
      ports matching the listen addresses, a grace period that covers the drain (settings the
      chart leaves unset count at the binary's own defaults from `BIN --help`), memory
      request/limit against dedup capacity, in-flight cap and body cap, HPA/PDB/Service
      targeting the workload, and that the PrometheusRule / dashboard ConfigMap (when rendered)
      carry the files in deploy/prometheus and deploy/grafana, changed only as the values ask.

  matrix --helm HELM --chart DIR --binary BIN --rules FILE --dashboard FILE
      Renders the chart across spool on/off x autoscaling on/off x PDB forms (maxUnavailable 1,
      maxUnavailable 0, minAvailable "50%", minAvailable 0, off), runs the manifest assertions on
      each and checks what each combination must render (StatefulSet with the spool, HPA
      scale-down disabled with the spool unless allowed, the PDB form asked for and
      unhealthyPodEvictionPolicy only on Kubernetes >= 1.27, a per-release dashboard uid, rule
      selection and labels); renders that must fail (a grace period or memory limit below what
      the settings need, an HPA without a target) fail with a message naming the value; the
      chart's defaults equal the binary's for every setting the grace period is computed from.

  runbooks RULES DOC
      Every alert has a runbook_url "docs/runbooks.md#<anchor>" and DOC has that section.

  schemas-values SCHEMA_DIR OUT
      Writes a values file whose schemas.overrides is the repository's complete schema directory.

  dashboard FILE --rules FILE --src DIR
      The dashboard parses and is well-formed (unique panel ids, every panel has a query, the
      datasource variable is used); every cmr_bridge_* metric the dashboard and the rules use is
      either registered in the source tree (DIR) or listed in future-metrics.txt; lists the
      panels and alerts that wait for a future metric.
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def rel(path):
    """A path as shown in messages: relative to the repository root."""
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


FAILED = []


def fail(message):
    FAILED.append(message)
    print(f"  FAIL {message}")


def ok(message):
    print(f"  ok   {message}")


def finish(what):
    if FAILED:
        print(f"{what}: {len(FAILED)} problem(s)")
        sys.exit(1)
    print(f"{what}: all checks passed")


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if isinstance(d, dict) and d.get("kind")]


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def find(docs, kind, name):
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    return None


def read_list(name):
    """Names from a file beside this script, one per line; '#' starts a comment."""
    out = []
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line)
    return out


def workload(docs):
    found = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")]
    if len(found) != 1:
        raise SystemExit(f"expected one Deployment or StatefulSet, found {len(found)}")
    return found[0]


def bridge_container(wl):
    for c in wl["spec"]["template"]["spec"]["containers"]:
        if c["name"] == "cmr-bridge":
            return c
    raise SystemExit("no container named cmr-bridge")


# --- env --------------------------------------------------------------------------------------
def binary_variables(binary):
    """(exact names, prefixes) from the 'environment:' section of `binary --help`."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    exact, prefixes = set(), set()
    for m in re.finditer(r"^  (CMR_BRIDGE_[A-Z0-9_]*)(<[A-Z]+>)? \(default", out, re.M):
        (prefixes if m.group(2) else exact).add(m.group(1))
    if not exact:
        raise SystemExit(f"{binary} --help lists no CMR_BRIDGE_* variables")
    return exact, prefixes


def secret_value(docs, name, key):
    secret = find(docs, "Secret", name)
    if secret is None:
        return None
    if key in (secret.get("stringData") or {}):
        return str(secret["stringData"][key])
    if key in (secret.get("data") or {}):
        return base64.b64decode(secret["data"][key]).decode()
    raise SystemExit(f"Secret {name} is rendered but has no key {key}")


def configmap_value(docs, name, key):
    cm = find(docs, "ConfigMap", name)
    if cm is None:
        return None
    if key not in (cm.get("data") or {}):
        raise SystemExit(f"ConfigMap {name} is rendered but has no key {key}")
    return cm["data"][key]


_PEM = {}


def pem_files(tmp):
    """A throw-away self-signed certificate and key, for TLS files from Secrets the chart only
    references: librdkafka reads them when check-config builds the producer configuration."""
    if not _PEM and shutil.which("openssl"):
        key, crt = os.path.join(tmp, "placeholder.key"), os.path.join(tmp, "placeholder.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=cmr-bridge-check", "-keyout", key, "-out", crt],
                       check=True, capture_output=True)
        _PEM["key"] = open(key, encoding="utf-8").read()
        _PEM["crt"] = open(crt, encoding="utf-8").read()
    return _PEM


def placeholder_file(tmp, secret, key):
    pem = pem_files(tmp)
    if pem and re.search(r"key", key, re.I):
        return pem["key"]
    if pem and re.search(r"crt|cert|pem|ca", key, re.I):
        return pem["crt"]
    return f"placeholder for {secret}/{key}\n"


def materialize_volumes(docs, wl, container, root):
    """Writes what the container would see under each mountPath to root+mountPath; returns the
    mount paths, longest first."""
    pod = wl["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {t["metadata"]["name"] for t in wl["spec"].get("volumeClaimTemplates", [])}
    mounts = []
    for m in container.get("volumeMounts", []):
        target = root + m["mountPath"]
        os.makedirs(target, exist_ok=True)
        mounts.append(m["mountPath"])
        if m["name"] in claims:
            continue
        vol = volumes.get(m["name"])
        if vol is None:
            fail(f"volumeMount {m['name']} has no volume")
            continue
        files = {}
        if "configMap" in vol:
            name = vol["configMap"]["name"]
            cm = find(docs, "ConfigMap", name)
            data = (cm or {}).get("data") or {}
            items = vol["configMap"].get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                if cm is None:
                    files[item["path"]] = f"placeholder for {name}/{item['key']}\n"
                elif item["key"] not in data:
                    fail(f"volume {m['name']}: ConfigMap {name} has no key {item['key']}")
                else:
                    files[item["path"]] = data[item["key"]]
        elif "secret" in vol:
            name = vol["secret"]["secretName"]
            rendered = find(docs, "Secret", name)
            items = vol["secret"].get("items") or [
                {"key": k, "path": k} for k in (rendered or {}).get("data", {})]
            for item in items:
                value = secret_value(docs, name, item["key"]) if rendered else None
                if value is None:
                    value = placeholder_file(root, name, item["key"])
                files[item["path"]] = value
        for rel, text in files.items():
            path = os.path.join(target, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    return sorted(mounts, key=len, reverse=True)


def rendered_config_file(docs):
    """The chart's config.json as a dict ({} when the render has none)."""
    for cm in by_kind(docs, "ConfigMap"):
        text = (cm.get("data") or {}).get("config.json")
        if text:
            return json.loads(text)
    return {}


def source_key_variables(docs):
    """Variables the rendered config file's sources read their keys from (keys_env)."""
    return [src["keys_env"] for src in rendered_config_file(docs).get("sources", [])
            if "keys_env" in src]


def check_sources(path, sources):
    """Each source of `sources` (values) reaches the config file with its keys from its Secret:
    keys_file at a read-only mount of that Secret's key, or keys_env set by secretKeyRef; no
    keysSecret and no key material in the ConfigMap."""
    docs = load_docs(path)
    wl = workload(docs)
    c = bridge_container(wl)
    pod = wl["spec"]["template"]["spec"]
    config = rendered_config_file(docs)
    if env_value(c, "CMR_BRIDGE_CONFIG_FILE") != "/etc/cmr-bridge/config/config.json":
        fail("sources render without CMR_BRIDGE_CONFIG_FILE pointing at the mounted config.json")
    rendered = {src.get("name"): src for src in config.get("sources", [])}
    if sorted(rendered) != sorted(src["name"] for src in sources):
        fail(f"config.json sources {sorted(rendered)}, values name "
             f"{sorted(src['name'] for src in sources)}")
        return
    for ingress in by_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            paths = {(p["path"], p["pathType"]) for p in rule["http"]["paths"]}
            missing = [src["name"] for src in sources
                       if (f"/webhooks/{src['name']}", "Exact") not in paths]
            if missing:
                fail(f"Ingress host {rule.get('host')}: no Exact path for sources {missing}")
            else:
                ok(f"Ingress host {rule.get('host')}: /webhooks/<name> for every source")
    env = {e["name"]: e for e in c.get("env", [])}
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for src in sources:
        name, secret = src["name"], src["keysSecret"]
        got = rendered[name]
        if "keysSecret" in got:
            fail(f"source {name}: keysSecret leaked into config.json")
        for field, value in src.items():
            if field != "keysSecret" and got.get(field) != value:
                fail(f"source {name}: {field} rendered as {got.get(field)!r}, values say {value!r}")
        key = secret.get("key", "keys")
        if secret.get("as", "file") == "file":
            mount_dir = f"/etc/cmr-bridge/sources/{name}"
            mount = mounts.get(mount_dir)
            volume = volumes.get((mount or {}).get("name"), {}).get("secret", {})
            if got.get("keys_file") != mount_dir + "/keys" or "keys_env" in got:
                fail(f"source {name}: keys_file {got.get('keys_file')!r}, "
                     f"expected {mount_dir}/keys only")
            elif not mount or not mount.get("readOnly"):
                fail(f"source {name}: {mount_dir} is not mounted read-only")
            elif (volume.get("secretName") != secret["name"]
                  or volume.get("items") != [{"key": key, "path": "keys"}]):
                fail(f"source {name}: the mount is not Secret {secret['name']} key {key}: {volume}")
            else:
                ok(f"source {name}: keys_file from Secret {secret['name']}/{key}, read-only")
        else:
            variable = secret.get("env", "CMR_SOURCE_%s_KEYS" % name.upper().replace("-", "_"))
            ref = env.get(variable, {}).get("valueFrom", {}).get("secretKeyRef")
            if got.get("keys_env") != variable or "keys_file" in got:
                fail(f"source {name}: keys_env {got.get('keys_env')!r}, expected {variable} only")
            elif ref != {"name": secret["name"], "key": key}:
                fail(f"source {name}: {variable} is not set from Secret {secret['name']}/{key}")
            else:
                ok(f"source {name}: keys_env {variable} from Secret {secret['name']}/{key}")


def cmd_env(args):
    docs = load_docs(args.rendered)
    wl = workload(docs)
    container = bridge_container(wl)
    exact, prefixes = binary_variables(args.binary)
    pending = set(read_list("pending-env.txt"))
    print(f"env check of {os.path.basename(args.rendered)} ({wl['kind']}) "
          f"against {rel(args.binary)}")
    print(f"  binary accepts {len(exact)} variables and the prefixes "
          f"{', '.join(sorted(p + '<NAME>' for p in prefixes))}")

    if container.get("envFrom"):
        fail("envFrom is used: its names cannot be checked here")
    env_list = container.get("env", [])
    names = [e["name"] for e in env_list]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        fail(f"set more than once: {', '.join(dupes)}")
    unknown, waiting = [], []
    source_keys = set(source_key_variables(docs))
    for n in names:
        if n in exact or any(n.startswith(p) and len(n) > len(p) for p in prefixes):
            continue
        if n in source_keys:
            continue  # named by a source's keys_env in the rendered config file
        (waiting if n in pending else unknown).append(n)
    for n in sorted(pending & exact & set(names)):
        print(f"  note {n} is in pending-env.txt but the binary knows it now: remove it there")
    if unknown:
        fail(f"not accepted by the binary: {', '.join(unknown)}")
    if waiting and not args.allow_pending:
        fail("not in this binary yet (pending-env.txt), not allowed in this render: "
             + ", ".join(waiting))
    elif waiting:
        print("  note pending (a later issue adds them; check-config ignores them until then): "
              + ", ".join(waiting))
    ok(f"{len(names)} variables, all known to the binary"
       + (f" or pending ({len(waiting)})" if waiting else ""))

    root = tempfile.mkdtemp(prefix="cmr-bridge-env-check.")
    try:
        mounts = materialize_volumes(docs, wl, container, root)
        env = {}
        for e in env_list:
            if "value" in e:
                value = str(e["value"])
            elif "secretKeyRef" in e.get("valueFrom", {}):
                ref = e["valueFrom"]["secretKeyRef"]
                value = secret_value(docs, ref["name"], ref["key"])
                if value is None:
                    value = f"placeholder-{ref['name']}-{ref['key']}"
                    print(f"  note {e['name']}: Secret {ref['name']} is not rendered "
                          "(existing Secret); placeholder value")
            elif "configMapKeyRef" in e.get("valueFrom", {}):
                ref = e["valueFrom"]["configMapKeyRef"]
                value = (configmap_value(docs, ref["name"], ref["key"])
                         or f"placeholder-{ref['name']}-{ref['key']}")
            else:
                value = "placeholder"
            for mount in mounts:
                if value == mount or value.startswith(mount.rstrip("/") + "/"):
                    value = root + value
                    break
            env[e["name"]] = value
        cmd = [args.binary, "check-config"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120)
        output = (proc.stdout + proc.stderr).strip()
        if 'unknown command "check-config"' in output:
            fail(f"{rel(args.binary)} has no check-config subcommand (build a binary that has it)")
        elif proc.returncode != 0:
            fail(f"check-config exited {proc.returncode}:\n"
                 + "\n".join("       " + line for line in output.splitlines()))
        else:
            last_line = output.splitlines()[-1] if output else "(no output)"
            ok(f"check-config accepts the rendered environment: {last_line}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    finish("env check")


# --- manifests --------------------------------------------------------------------------------
def env_value(container, name):
    for e in container.get("env", []):
        if e["name"] == name:
            return e.get("value")
    return None


def binary_defaults(binary):
    """{variable: default text} from `binary --help` ("  CMR_BRIDGE_X (default 5)")."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    listed = re.finditer(r"^  (CMR_BRIDGE_[A-Z0-9_]+) \(default ([^)]*)\)", out, re.M)
    return {m.group(1): m.group(2) for m in listed}


DRAIN_SETTINGS = ("CMR_BRIDGE_DRAIN_DELAY_S", "CMR_BRIDGE_READ_TIMEOUT_S",
                  "CMR_BRIDGE_DELIVERY_TIMEOUT_MS", "CMR_BRIDGE_SPOOL_DRAIN_S")


def shutdown_seconds(c, defaults, spool):
    """The shutdown's worst case, from the container's environment; settings it leaves unset
    count at the binary's defaults. Mirrors the service's drain (src/main.cc): preStop sleep,
    drain delay, the slowest request in flight (read timeout + delivery timeout), the spool
    forwarding (the spool drain, plus the record in progress), the producer flush."""
    def setting(name):
        value = env_value(c, name)
        return int(value if value is not None else defaults[name])
    pre_stop = 0
    cmd = (((c.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command") or []
    if len(cmd) == 2 and cmd[0] == "sleep":
        pre_stop = int(cmd[1])
    delivery = -(-setting("CMR_BRIDGE_DELIVERY_TIMEOUT_MS") // 1000)
    parts = [("preStop", pre_stop), ("drain delay", setting("CMR_BRIDGE_DRAIN_DELAY_S")),
             ("read timeout", setting("CMR_BRIDGE_READ_TIMEOUT_S")),
             ("in-flight delivery", delivery)]
    if spool:
        parts.append(("spool forwarding", setting("CMR_BRIDGE_SPOOL_DRAIN_S") + delivery))
    parts.append(("producer flush", delivery))
    return sum(v for _, v in parts), " + ".join(f"{n} {v}" for n, v in parts)


def check_drain(c, pod, defaults, spool):
    missing = [n for n in DRAIN_SETTINGS if n not in defaults]
    if missing:
        fail(f"the binary's --help lists no default for {', '.join(missing)}")
        return
    need, what = shutdown_seconds(c, defaults, spool)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace < need:
        fail(f"terminationGracePeriodSeconds {grace} < {need} s ({what})")
    else:
        ok(f"terminationGracePeriodSeconds {grace} >= {need} s ({what})")


QUANTITY = re.compile(r"^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
UNITS = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
         "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def quantity_bytes(text):
    m = QUANTITY.match(str(text))
    if not m:
        raise SystemExit(f"memory quantity {text!r} is not understood by this check")
    return int(m.group(1)) * UNITS[m.group(2)]


def check_memory(c):
    """The chart's memory arithmetic, recomputed from the environment it renders (values.yaml,
    resources): request >= base + dedup, limit >= that + in-flight bodies x copies."""
    with open(os.path.join(ROOT, "helm/cmr-bridge/values.yaml"), encoding="utf-8") as f:
        sizing = yaml.safe_load(f)["memorySizing"]
    dedup_on = env_value(c, "CMR_BRIDGE_DEDUP") != "false"
    dedup = 0
    if dedup_on:
        dedup = int(env_value(c, "CMR_BRIDGE_DEDUP_CAPACITY") or 0) * sizing["bytesPerDedupEntry"]
    bodies = (int(env_value(c, "CMR_BRIDGE_MAX_IN_FLIGHT"))
              * int(env_value(c, "CMR_BRIDGE_MAX_BODY_BYTES")) * sizing["bodyCopies"])
    request = (sizing["baseMiB"] << 20) + dedup
    limit = request + bodies
    res = c.get("resources") or {}
    have_request = quantity_bytes(res.get("requests", {}).get("memory", 0))
    have_limit = quantity_bytes(res.get("limits", {}).get("memory", 0))
    if have_request < request:
        fail(f"memory request {have_request >> 20} Mi < {request / 2**20:.0f} Mi "
             "(base + dedup capacity)")
    elif have_limit < limit:
        fail(f"memory limit {have_limit >> 20} Mi < {limit / 2**20:.0f} Mi "
             "(base + dedup + in-flight bodies)")
    else:
        ok(f"memory request {have_request >> 20} Mi, limit {have_limit >> 20} Mi cover dedup "
           f"{dedup / 2**20:.0f} Mi and in-flight bodies {bodies / 2**20:.0f} Mi")


def cmd_manifests(args):
    check_manifests(args.rendered, args.kind, args.rules, args.dashboard, args.binary)
    finish("manifest checks")


def check_manifests(rendered, kind, rules_file, dashboard_file, binary, values=None):
    """The assertions of `manifests` on one render; `values` (the --set values of a matrix
    render) selects how the PrometheusRule is expected to differ from the rules file."""
    class Args:
        pass
    args = Args()
    args.rendered, args.kind, args.rules = rendered, kind, rules_file
    args.dashboard, args.binary = dashboard_file, binary
    args.values = values or {}
    docs = load_docs(args.rendered)
    print(f"manifest checks of {os.path.basename(args.rendered)}")
    wl = workload(docs)
    name = wl["metadata"]["name"]
    pod = wl["spec"]["template"]["spec"]
    c = bridge_container(wl)
    if wl["kind"] != args.kind:
        fail(f"workload is a {wl['kind']}, expected {args.kind}")
    else:
        ok(f"workload is a {wl['kind']}")
    spool_dir = env_value(c, "CMR_BRIDGE_SPOOL_DIR")
    if wl["kind"] == "StatefulSet":
        claims = wl["spec"].get("volumeClaimTemplates", [])
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        if not claims:
            fail("StatefulSet without volumeClaimTemplates")
        for t in claims:
            if t["metadata"]["name"] not in mounts:
                fail(f"volumeClaimTemplate {t['metadata']['name']} is not mounted")
            elif mounts[t["metadata"]["name"]] != spool_dir:
                fail(f"spool claim mounted at {mounts[t['metadata']['name']]}, "
                     f"CMR_BRIDGE_SPOOL_DIR={spool_dir}")
            else:
                ok(f"volumeClaimTemplate {t['metadata']['name']} "
                   f"({t['spec']['resources']['requests']['storage']}) "
                   "mounted at CMR_BRIDGE_SPOOL_DIR")
        headless = find(docs, "Service", wl["spec"].get("serviceName", ""))
        if not headless or headless["spec"].get("clusterIP") != "None":
            fail("StatefulSet serviceName is not a rendered headless Service")
        else:
            ok(f"headless Service {headless['metadata']['name']}")
    elif spool_dir or wl["spec"].get("volumeClaimTemplates"):
        fail("spool settings on a Deployment")

    # Security context: pod and container.
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    checks = {
        "runAsNonRoot": psc.get("runAsNonRoot") is True and csc.get("runAsNonRoot") is True,
        "numeric non-root user": isinstance(csc.get("runAsUser"), int) and csc["runAsUser"] > 0,
        "readOnlyRootFilesystem": csc.get("readOnlyRootFilesystem") is True,
        "allowPrivilegeEscalation false": csc.get("allowPrivilegeEscalation") is False,
        "capabilities drop ALL": "ALL" in (csc.get("capabilities") or {}).get("drop", []),
        "seccomp RuntimeDefault": (psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
        "no service account token": pod.get("automountServiceAccountToken") is False,
    }
    for what, good in checks.items():
        (ok if good else fail)(f"security: {what}")

    # Ports, probes.
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    for var, port_name in (("CMR_BRIDGE_LISTEN", "http"), ("CMR_BRIDGE_ADMIN_LISTEN", "admin")):
        value = env_value(c, var) or ""
        port = value.rsplit(":", 1)[-1]
        if port_name not in ports or str(ports[port_name]) != port:
            fail(f"{var}={value} does not match container port {port_name}={ports.get(port_name)}")
        else:
            ok(f"{var} matches container port {port_name}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        http = (c.get(probe) or {}).get("httpGet") or {}
        if http.get("path") != path or http.get("port") not in ("admin", ports.get("admin")):
            fail(f"{probe} is not GET {path} on the admin port: {http}")
        else:
            ok(f"{probe}: GET {path} on the admin port")
    res = c.get("resources") or {}
    requests, limits = res.get("requests", {}), res.get("limits", {})
    if not requests.get("cpu") or not requests.get("memory") or not limits.get("memory"):
        fail("resources: cpu and memory requests and a memory limit are required")
    else:
        ok("resources: requests and memory limit set")

    check_drain(c, pod, binary_defaults(args.binary), spool_dir is not None)
    check_memory(c)

    # What points at the workload.
    selector = wl["spec"]["selector"]["matchLabels"]
    labels = wl["spec"]["template"]["metadata"]["labels"]
    if any(labels.get(k) != v for k, v in selector.items()):
        fail("pod labels do not match the selector")
    for svc in by_kind(docs, "Service"):
        if svc["spec"]["selector"] != selector:
            fail(f"Service {svc['metadata']['name']} selects {svc['spec']['selector']}")
        for p in svc["spec"]["ports"]:
            if p["targetPort"] not in ports:
                fail(f"Service {svc['metadata']['name']} targets unknown port {p['targetPort']}")
    ok(f"{len(by_kind(docs, 'Service'))} Service(s) select the pods and target named ports")
    for hpa in by_kind(docs, "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) != (wl["kind"], name):
            fail(f"HPA targets {ref['kind']}/{ref['name']}")
        elif "replicas" in wl["spec"]:
            fail("workload sets replicas although an HPA scales it")
        else:
            ok(f"HPA scales {wl['kind']}/{name} "
               f"({hpa['spec']['minReplicas']}-{hpa['spec']['maxReplicas']})")
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        if pdb["spec"]["selector"]["matchLabels"] != selector:
            fail("PodDisruptionBudget selects other pods")
        else:
            ok("PodDisruptionBudget selects the pods")
    for ing in by_kind(docs, "Ingress"):
        paths = [p for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
        bad = [p for p in paths if p["backend"]["service"]["port"].get("name") != "http"]
        if bad:
            fail("Ingress routes to a port other than the webhook port")
        else:
            ok(f"Ingress exposes only the webhook port ({', '.join(p['path'] for p in paths)})")

    for sm in by_kind(docs, "ServiceMonitor"):
        sel = sm["spec"]["selector"]
        scraped = []
        for svc in by_kind(docs, "Service"):
            labels_ = svc["metadata"].get("labels", {})
            if any(labels_.get(k) != v for k, v in sel.get("matchLabels", {}).items()):
                continue
            if any((e["operator"] == "DoesNotExist" and e["key"] in labels_) or
                   (e["operator"] == "Exists" and e["key"] not in labels_)
                   for e in sel.get("matchExpressions", [])):
                continue
            scraped.append(svc)
        ports = [ep["port"] for ep in sm["spec"]["endpoints"]]
        if len(scraped) != 1:
            fail(f"ServiceMonitor selects {len(scraped)} Services (each pod must be scraped once)")
        elif any(p not in [sp["name"] for sp in scraped[0]["spec"]["ports"]] for p in ports):
            fail(f"ServiceMonitor scrapes ports {ports} that Service "
                 f"{scraped[0]['metadata']['name']} lacks")
        else:
            ok(f"ServiceMonitor scrapes Service {scraped[0]['metadata']['name']} "
               f"port {', '.join(ports)} only")

    # Shipped monitoring files are the ones in deploy/, changed only as the values ask.
    release_ns = "cmr"
    for rule in by_kind(docs, "PrometheusRule"):
        with open(args.rules, encoding="utf-8") as f:
            want = expected_rules(yaml.safe_load(f), args.values,
                                  bool(by_kind(docs, "ServiceMonitor")), release_ns, name)
        if rule["spec"] != want:
            fail(f"PrometheusRule spec differs from {rel(args.rules)} with the values' changes")
        else:
            rule_count = sum(len(g["rules"]) for g in want["groups"])
            ok(f"PrometheusRule carries {rel(args.rules)} ({rule_count} rules)")
    for cm in by_kind(docs, "ConfigMap"):
        if cm["metadata"]["name"].endswith("-dashboard"):
            with open(args.dashboard, encoding="utf-8") as f:
                want = json.load(f)
            got = json.loads(cm["data"]["cmr-bridge.json"])
            uid, title = got.pop("uid", None), got.pop("title", None)
            want.pop("uid", None)
            base_title = want.pop("title")
            if got != want:
                fail(f"dashboard ConfigMap differs from {rel(args.dashboard)} "
                     "(beyond uid and title)")
            elif (not uid or not uid.startswith("cmr-bridge-") or len(uid) > 40
                  or title != f"{base_title} ({release_ns}/{name})"):
                fail(f"dashboard uid {uid!r} / title {title!r} do not name the release")
            else:
                ok(f"dashboard ConfigMap carries {rel(args.dashboard)} as uid {uid}, "
                   f"title \"{title}\"")
    return wl


def expected_rules(rules, values, service_monitor, namespace, fullname):
    """The rules file as the chart's prometheusrule.yaml must render it for these values."""
    disabled = set(values.get("prometheusRule.disabled") or [])
    labels = values.get("prometheusRule.ruleLabels") or {}
    base = values.get("prometheusRule.runbookBaseUrl") or ""
    scraped = service_monitor or values.get("prometheusRule.scrapedWithoutServiceMonitor")
    groups = []
    for g in rules["groups"]:
        kept = []
        for r in g["rules"]:
            name = r.get("alert") or r.get("record")
            if name in disabled or (name == "CmrBridgeMetricsAbsent" and not scraped):
                continue
            r = json.loads(json.dumps(r))
            if name == "CmrBridgeMetricsAbsent":
                scoped = f'cmr_bridge_build_info{{namespace="{namespace}", job="{fullname}"}}'
                r["expr"] = r["expr"].replace("absent(cmr_bridge_build_info)",
                                              f"absent({scoped})")
            if labels:
                r["labels"] = {**r.get("labels", {}), **labels}
            if base and "runbook_url" in r.get("annotations", {}):
                annotations = r["annotations"]
                annotations["runbook_url"] = annotations["runbook_url"].replace(
                    "docs/runbooks.md", base)
            kept.append(r)
        if kept:
            groups.append({"name": g["name"], "rules": kept})
    return {"groups": groups}


# --- matrix -----------------------------------------------------------------------------------
PDB_FORMS = {
    "max1": {},
    "max0": {"podDisruptionBudget.maxUnavailable": 0},
    "min50pct": {"podDisruptionBudget.minAvailable": "50%"},
    "min0": {"podDisruptionBudget.minAvailable": 0},
    "off": {"podDisruptionBudget.enabled": False},
}


def helm_template(helm, chart, values, kube_version="1.37.0", release="cmr-bridge"):
    """(rendered text, error text) of `helm template` with `values` as --set-json pairs."""
    cmd = [helm, "template", release, chart, "--namespace", "cmr", "--kube-version", kube_version]
    for key, value in values.items():
        cmd += ["--set-json", f"{key}={json.dumps(value)}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return (proc.stdout, None) if proc.returncode == 0 else (None, proc.stderr.strip())


def render_to(tmp, name, helm, chart, values, **kw):
    text, error = helm_template(helm, chart, values, **kw)
    if error:
        fail(f"{name}: helm template failed: {error}")
        return None
    path = os.path.join(tmp, f"{name}.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def check_combination(path, spool, autoscaling, pdb_form, values, args):
    docs = load_docs(path)
    wl = check_manifests(path, "StatefulSet" if spool else "Deployment", args.rules,
                         args.dashboard, args.binary, values)
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    if bool(hpas) != autoscaling:
        fail(f"HPA rendered: {bool(hpas)}, autoscaling: {autoscaling}")
    for hpa in hpas:
        policy = ((hpa["spec"].get("behavior") or {}).get("scaleDown") or {}).get("selectPolicy")
        allowed = values.get("autoscaling.scaleDownWithSpool", False)
        if spool and not allowed and policy != "Disabled":
            fail("spool + autoscaling: the HPA may scale down "
                 "(records would wait on a removed pod's volume)")
        elif (not spool or allowed) and policy == "Disabled":
            fail("the HPA's scale-down is disabled although nothing asks for it")
        else:
            ok(f"HPA scale-down {'disabled (spool on)' if policy == 'Disabled' else 'enabled'}")
    if not autoscaling and wl["spec"].get("replicas") != 2:
        fail(f"replicas {wl['spec'].get('replicas')} without autoscaling, expected replicaCount 2")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    if pdb_form == "off":
        if pdbs:
            fail("PDB rendered although podDisruptionBudget.enabled is false")
        return
    if len(pdbs) != 1:
        fail(f"{len(pdbs)} PDBs rendered")
        return
    spec = pdbs[0]["spec"]
    want = {"max1": ("maxUnavailable", 1), "max0": ("maxUnavailable", 0),
            "min50pct": ("minAvailable", "50%"), "min0": ("minAvailable", 0)}[pdb_form]
    other = "minAvailable" if want[0] == "maxUnavailable" else "maxUnavailable"
    if spec.get(want[0]) != want[1] or other in spec:
        fail(f"PDB {pdb_form}: {want[0]}={spec.get(want[0])!r}, {other}={spec.get(other)!r}; "
             f"expected {want[0]}={want[1]!r} only")
    elif spec.get("unhealthyPodEvictionPolicy") != "AlwaysAllow":
        fail("PDB without unhealthyPodEvictionPolicy AlwaysAllow on Kubernetes 1.37")
    else:
        ok(f"PDB {want[0]}: {want[1]!r}, unhealthyPodEvictionPolicy: AlwaysAllow")


def must_fail(name, helm, chart, values, message):
    text, error = helm_template(helm, chart, values)
    if error is None:
        fail(f"{name}: rendered although it must fail ({message})")
    elif message not in error:
        fail(f"{name}: failed, but without naming the problem ({message!r}): {error}")
    else:
        ok(f"{name}: refused: {error.split('error calling fail: ')[-1]}")


def cmd_matrix(args):
    tmp = tempfile.mkdtemp(prefix="cmr-bridge-matrix.")
    try:
        defaults = binary_defaults(args.binary)
        with open(os.path.join(args.chart, "values.yaml"), encoding="utf-8") as f:
            chart_values = yaml.safe_load(f)
        print("chart defaults vs the binary's, for every setting the grace period is computed from")
        for variable, value in (
                ("CMR_BRIDGE_DRAIN_DELAY_S", chart_values["drainDelaySeconds"]),
                ("CMR_BRIDGE_READ_TIMEOUT_S", chart_values["webhook"]["readTimeoutSeconds"]),
                ("CMR_BRIDGE_DELIVERY_TIMEOUT_MS", chart_values["kafka"]["deliveryTimeoutMs"]),
                ("CMR_BRIDGE_SPOOL_DRAIN_S", chart_values["spool"]["drainSeconds"])):
            if str(value) != defaults.get(variable):
                fail(f"chart default {value} for {variable}, "
                     f"binary default {defaults.get(variable)}")
            else:
                ok(f"{variable}: chart and binary default {value}")
        combos = 0
        for spool in (False, True):
            for autoscaling in (True, False):
                for form, pdb_values in PDB_FORMS.items():
                    name = (f"spool-{'on' if spool else 'off'}"
                            f".hpa-{'on' if autoscaling else 'off'}.pdb-{form}")
                    values = {"spool.enabled": spool, "autoscaling.enabled": autoscaling,
                              **pdb_values}
                    path = render_to(tmp, name, args.helm, args.chart, values)
                    if path:
                        check_combination(path, spool, autoscaling, form, values, args)
                        combos += 1
        print(f"matrix: {combos} combinations rendered and checked")

        print("variants")
        values = {"spool.enabled": True, "autoscaling.scaleDownWithSpool": True}
        path = render_to(tmp, "spool-scale-down-allowed", args.helm, args.chart, values)
        if path:
            check_combination(path, True, True, "max1", values, args)
        path = render_to(tmp, "kube-1.25", args.helm, args.chart, {}, kube_version="1.25.0")
        if path:
            pdb = by_kind(load_docs(path), "PodDisruptionBudget")[0]
            if "unhealthyPodEvictionPolicy" in pdb["spec"]:
                fail("unhealthyPodEvictionPolicy rendered for Kubernetes 1.25, "
                     "which does not know it")
            else:
                ok("Kubernetes 1.25: PDB without unhealthyPodEvictionPolicy")
        values = {"podDisruptionBudget.unhealthyPodEvictionPolicy": ""}
        path = render_to(tmp, "eviction-policy-unset", args.helm, args.chart, values)
        if path and "unhealthyPodEvictionPolicy" in by_kind(
                load_docs(path), "PodDisruptionBudget")[0]["spec"]:
            fail('unhealthyPodEvictionPolicy "" still renders the field')
        values = {"terminationGracePeriodSeconds": 300, "webhook.maxInFlight": 32,
                  "resources": {"requests": {"cpu": "100m", "memory": "300Mi"},
                                "limits": {"memory": "1Gi"}}}
        path = render_to(tmp, "explicit-grace-and-memory", args.helm, args.chart, values)
        if path:
            c = bridge_container(workload(load_docs(path)))
            pod_spec = workload(load_docs(path))["spec"]["template"]["spec"]
            if pod_spec["terminationGracePeriodSeconds"] != 300:
                fail("an explicit terminationGracePeriodSeconds 300 was not kept")
            elif (c["resources"]["limits"]["memory"] != "1Gi"
                  or c["resources"]["requests"]["memory"] != "300Mi"):
                fail(f"explicit memory was not kept: {c['resources']}")
            else:
                ok("explicit grace period (300) and memory "
                   "(300Mi / 1Gi, enough for 32 in flight) kept")
        values = {"prometheusRule.enabled": True,
                  "prometheusRule.disabled": ["CmrBridgeNoWebhooks"],
                  "prometheusRule.ruleLabels": {"team": "integrations"},
                  "prometheusRule.runbookBaseUrl":
                      "https://git.example.com/cmr-bridge/blob/main/docs/runbooks.md",
                  "grafanaDashboard.enabled": True}
        path = render_to(tmp, "rules-without-servicemonitor", args.helm, args.chart, values)
        if path:
            check_manifests(path, "Deployment", args.rules, args.dashboard, args.binary, values)
            groups = by_kind(load_docs(path), "PrometheusRule")[0]["spec"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            left_out = ({r["alert"] for r in rules}
                        & {"CmrBridgeNoWebhooks", "CmrBridgeMetricsAbsent"})
            if left_out:
                fail(f"disabled or unscraped alerts rendered: {sorted(left_out)}")
            elif any(r["labels"].get("team") != "integrations"
                     or not r["annotations"]["runbook_url"].startswith("https://git.example.com/")
                     for r in rules):
                fail("a rule lacks the rule labels or the rebased runbook_url")
            else:
                ok(f"{len(rules)} rules: CmrBridgeNoWebhooks disabled, "
                   "CmrBridgeMetricsAbsent left out "
                   "without a ServiceMonitor, labels and runbook base applied")
        values = {"prometheusRule.enabled": True, "serviceMonitor.enabled": True}
        path = render_to(tmp, "rules-with-servicemonitor", args.helm, args.chart, values)
        if path:
            check_manifests(path, "Deployment", args.rules, args.dashboard, args.binary, values)
        uids = set()
        for release in ("cmr-bridge", "cmr-bridge-sandbox"):
            text, error = helm_template(args.helm, args.chart, {"grafanaDashboard.enabled": True},
                                        release=release)
            if error:
                fail(f"dashboard render of release {release}: {error}")
                continue
            cm = [d for d in yaml.safe_load_all(text)
                  if d and d["kind"] == "ConfigMap"
                  and d["metadata"]["name"].endswith("-dashboard")]
            uids.add(json.loads(cm[0]["data"]["cmr-bridge.json"])["uid"])
        if len(uids) != 2:
            fail(f"two releases share the dashboard uid: {uids}")
        else:
            ok(f"two releases, two dashboard uids: {', '.join(sorted(uids))}")

        sources = [
            {"name": "acme", "profile": "standard-webhooks",
             "keysSecret": {"name": "acme-webhook-keys"},
             "routes": [{"match": "*", "topic": "acme.events"}]},
            {"name": "gh", "profile": "github",
             "keysSecret": {"name": "gh-webhook-keys", "key": "secret", "as": "env"},
             "routes": [{"match": "*", "topic": "gh.events"}]},
            {"name": "pay", "profile": "stripe",
             "keysSecret": {"name": "pay-webhook-keys", "as": "env", "env": "PAY_WEBHOOK_KEYS"},
             "routes": [{"match": "invoice.*", "topic": "pay.events"},
                        {"match": "*", "topic": "pay.other.events"}]}]
        for extra in ({}, {"configFile": {"LOG_LEVEL": "debug"}, "ingress.enabled": True}):
            values = {"sources": sources, **extra}
            path = render_to(tmp, "sources" + ("-and-config-file" if extra else ""),
                             args.helm, args.chart, values)
            if path:
                check_sources(path, sources)
                config = rendered_config_file(load_docs(path))
                if extra and config.get("LOG_LEVEL") != "debug":
                    fail("sources dropped the configFile settings from config.json")

        print("renders that must fail")
        source = {"name": "acme", "profile": "stripe", "keysSecret": {"name": "s"}}
        must_fail("a source with inline keys", args.helm, args.chart,
                  {"sources": [{**source, "keys_env": "ACME_KEYS"}]},
                  "keys_env")
        must_fail("two sources of one name", args.helm, args.chart,
                  {"sources": [source, source]}, 'sources[1].name "acme" is taken')
        must_fail("a source named cmr", args.helm, args.chart,
                  {"sources": [{**source, "name": "cmr"}]}, 'sources[0].name "cmr" is taken')
        must_fail("a source without a keys Secret", args.helm, args.chart,
                  {"sources": [{"name": "acme", "profile": "stripe"}]}, "keysSecret")
        must_fail("grace below the drain", args.helm, args.chart,
                  {"terminationGracePeriodSeconds": 39},
                  "terminationGracePeriodSeconds 39 is shorter than the shutdown it must cover "
                  "(40 s")
        must_fail("grace below the drain with the spool", args.helm, args.chart,
                  {"terminationGracePeriodSeconds": 40, "spool.enabled": True},
                  "terminationGracePeriodSeconds 40 is shorter than the shutdown it must cover "
                  "(70 s")
        must_fail("memory limit below in-flight bodies", args.helm, args.chart,
                  {"resources": {"limits": {"memory": "512Mi"}}},
                  "resources.limits.memory 512Mi is below the 1023 Mi")
        must_fail("memory request below the dedup cache", args.helm, args.chart,
                  {"resources": {"requests": {"memory": "128Mi"}}},
                  "resources.requests.memory 128Mi is below the 255 Mi")
        must_fail("HPA without a target", args.helm, args.chart,
                  {"autoscaling.targetCPUUtilizationPercentage": None},
                  "autoscaling.enabled needs a target")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("render matrix")


# --- runbooks ---------------------------------------------------------------------------------
def slug(heading):
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def cmd_runbooks(args):
    with open(args.rules, encoding="utf-8") as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    with open(args.doc, encoding="utf-8") as f:
        anchors = {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", f.read(), re.M)}
    for r in rules:
        url = (r.get("annotations") or {}).get("runbook_url", "")
        name = r.get("alert") or r.get("record")
        if not url.startswith("docs/runbooks.md#"):
            fail(f"{name}: runbook_url {url!r} is not docs/runbooks.md#<section>")
        elif url.split("#", 1)[1] not in anchors:
            fail(f"{name}: {rel(args.doc)} has no section #{url.split('#', 1)[1]}")
    ok(f"{len(rules)} rules, each with a runbook_url to a section of {rel(args.doc)}")
    finish("runbook checks")


# --- schemas-values ---------------------------------------------------------------------------
def cmd_schemas_values(args):
    overrides = {}
    if os.path.isdir(args.schema_dir):
        for dirpath, dirnames, filenames in os.walk(args.schema_dir):
            rel_dir = os.path.relpath(dirpath, args.schema_dir)
            if rel_dir.split(os.sep)[0] == "examples":
                continue
            for fn in filenames:
                if fn.endswith(".json"):
                    rel = os.path.normpath(os.path.join(rel_dir, fn))
                    with open(os.path.join(dirpath, fn), encoding="utf-8") as f:
                        overrides[rel] = f.read()
    with open(args.out, "w", encoding="utf-8") as f:
        yaml.safe_dump({"schemas": {"overrides": overrides}} if overrides else {}, f)
    print(f"schemas-values: {len(overrides)} schema file(s) from {args.schema_dir}")


# --- dashboard --------------------------------------------------------------------------------
METRIC = re.compile(r"\b(cmr_bridge_[a-z0-9_]+?)(_bucket|_sum|_count)?\b")


def metric_names(expr):
    return {m.group(1) for m in METRIC.finditer(expr)}


def cmd_dashboard(args):
    print(f"dashboard and rule checks of {rel(args.dashboard)}, {rel(args.rules)}")
    try:
        with open(args.dashboard, encoding="utf-8") as f:
            dash = json.load(f)
    except ValueError as e:
        fail(f"{args.dashboard} is not valid JSON: {e}")
        finish("dashboard checks")
    ok(f"valid JSON: \"{dash.get('title')}\" (uid {dash.get('uid')}, "
       f"schemaVersion {dash.get('schemaVersion')})")
    panels = []
    for p in dash.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)) or None in ids:
        fail("panel ids are missing or not unique")
    used = {}
    for p in panels:
        if p.get("type") == "row":
            continue
        exprs = [t.get("expr", "") for t in p.get("targets", [])]
        if not exprs or not all(exprs):
            fail(f"panel \"{p.get('title')}\" has no query")
        if (p.get("datasource") or {}).get("uid") != "${datasource}":
            fail(f"panel \"{p.get('title')}\" does not use the datasource variable")
        for e in exprs:
            for m in metric_names(e):
                used.setdefault(m, set()).add(f"panel \"{p['title']}\"")
    ok(f"{len([p for p in panels if p.get('type') != 'row'])} panels, unique ids, "
       "each with a query on ${datasource}")
    with open(args.rules, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    for g in rules["groups"]:
        for r in g["rules"]:
            for m in metric_names(r["expr"]):
                used.setdefault(m, set()).add(f"alert {r.get('alert') or r.get('record')}")

    source = set()
    for dirpath, _, filenames in os.walk(args.src):
        for fn in filenames:
            if fn.endswith((".cc", ".h", ".cpp", ".hpp")):
                with open(os.path.join(dirpath, fn), encoding="utf-8", errors="replace") as f:
                    source |= set(re.findall(r'"(cmr_bridge_[a-z0-9_]+)"', f.read()))
    future = set(read_list("future-metrics.txt"))
    missing = sorted(m for m in used if m not in source and m not in future)
    if missing:
        fail("metrics neither registered in " + rel(args.src)
             + " nor listed in future-metrics.txt: "
             + "; ".join(f"{m} ({', '.join(sorted(used[m]))})" for m in missing))
    waiting = sorted(m for m in used if m not in source and m in future)
    for m in waiting:
        print(f"  note {m} is not exported yet (future-metrics.txt): {', '.join(sorted(used[m]))}")
    for m in sorted(future & source):
        print(f"  note {m} is exported now: remove it from future-metrics.txt")
    ok(f"{len(used)} metric names used; {len(used) - len(waiting)} exported by the source tree, "
       f"{len(waiting)} future")
    finish("dashboard checks")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("env")
    e.add_argument("rendered")
    e.add_argument("--binary", required=True)
    e.add_argument("--allow-pending", action="store_true")
    m = sub.add_parser("manifests")
    m.add_argument("rendered")
    m.add_argument("--kind", required=True, choices=["Deployment", "StatefulSet"])
    m.add_argument("--rules", required=True)
    m.add_argument("--dashboard", required=True)
    m.add_argument("--binary", required=True)
    x = sub.add_parser("matrix")
    x.add_argument("--helm", required=True)
    x.add_argument("--chart", required=True)
    x.add_argument("--binary", required=True)
    x.add_argument("--rules", required=True)
    x.add_argument("--dashboard", required=True)
    r = sub.add_parser("runbooks")
    r.add_argument("rules")
    r.add_argument("doc")
    s = sub.add_parser("schemas-values")
    s.add_argument("schema_dir")
    s.add_argument("out")
    d = sub.add_parser("dashboard")
    d.add_argument("dashboard")
    d.add_argument("--rules", required=True)
    d.add_argument("--src", required=True)
    args = ap.parse_args()
    {"env": cmd_env, "manifests": cmd_manifests, "schemas-values": cmd_schemas_values,
     "dashboard": cmd_dashboard, "matrix": cmd_matrix, "runbooks": cmd_runbooks}[args.cmd](args)


if __name__ == "__main__":
    main()
