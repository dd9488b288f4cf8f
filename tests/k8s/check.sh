#!/usr/bin/env bash
# Static checks of the Kubernetes delivery: the Helm chart, its rendered manifests, the alert
# rules and the Grafana dashboard. Idempotent; works from any directory, with CI=true and no
# standard input. Exits non-zero on the first failing step.
#
#   bash tests/k8s/check.sh [BINARY]        # BINARY, or $CMR_BRIDGE_BINARY, default build/cmr-bridge
#
# Installs what is missing (each step skips what is already there):
#   - Debian: prometheus (for promtool; its service is kept from starting), openssl, python3-venv
#   - helm and kube-score with `go install` at pinned versions into
#     $CMR_BRIDGE_TOOLS_DIR/<tool>-<version>/ (default ~/.cache/cmr-bridge-tools: outside the
#     work tree, so fresh clones on the same machine reuse them; versioned, so nothing else's
#     helm is replaced)
#   - kubernetes-validate (PyPI; bundles Kubernetes' JSON schemas, so no network at check time)
#     and PyYAML in a virtualenv under $CMR_BRIDGE_CACHE_DIR/k8s-check/ (default <repo>/.cache)
#   - the binary, when BINARY is not given and build/cmr-bridge does not exist: built into
#     build-k8s/ (tests off) with deploy/local/build.sh
#
# Steps:
#   1. helm lint --strict: default values, ci/all-features-values.yaml
#   2. helm template: default, spool only (spool.enabled=true), all features (+ the repository's
#      complete schemas/ as schemas.overrides), each for the oldest and the newest Kubernetes
#   3. kubernetes-validate --strict (unknown fields and wrong types are errors): each render against
#      the schemas of the Kubernetes it was rendered for, the oldest (1.25) and newest (1.37) it
#      bundles; ServiceMonitor / PrometheusRule have
#      no bundled schema (they are checked by step 5 and 6)
#   4. kube-score with tests/k8s/kube-score.conf (every disabled check says why)
#   5. manifest assertions (check_rendered.py manifests): Deployment vs StatefulSet +
#      volumeClaimTemplate, security context, probes, ports, grace period vs the drain (the
#      binary's own defaults for what the chart leaves unset), memory vs dedup capacity and
#      in-flight bodies, HPA/PDB/Service targets, PrometheusRule and dashboard ConfigMap = the
#      files in deploy/ as the values change them; then the render matrix (check_rendered.py
#      matrix): spool on/off x autoscaling on/off x PDB forms, variants, and renders that must fail
#   6. promtool check rules + promtool test rules on deploy/prometheus; every rule links a section
#      of docs/runbooks.md; the chart's copies of the rules and the dashboard are identical to
#      deploy/
#   7. dashboard JSON parses and is well-formed; every metric it and the rules use exists in src/
#      or is listed in future-metrics.txt
#   8. env check (check_rendered.py env): every variable each render sets is one `BINARY --help`
#      lists (future ones from pending-env.txt only where the feature is on), then
#      `BINARY check-config` with the rendered environment (Secrets, ConfigMap files resolved)
set -euo pipefail

started=$(date +%s)
cleanup=()
on_exit() {
  local rc=$? c
  for c in "${cleanup[@]+"${cleanup[@]}"}"; do eval "$c" || true; done
  echo "k8s/check.sh: $([ "$rc" -eq 0 ] && echo "all checks passed" || echo "FAILED (exit $rc)") in $(( $(date +%s) - started ))s"
}
trap on_exit EXIT

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
here=$root/tests/k8s
chart=$root/helm/cmr-bridge
cache=${CMR_BRIDGE_CACHE_DIR:-$root/.cache}/k8s-check
tools=${CMR_BRIDGE_TOOLS_DIR:-$HOME/.cache/cmr-bridge-tools}
HELM_VERSION=v3.22.0
KUBE_SCORE_VERSION=v1.20.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBE_VERSIONS=(1.25.0 1.37.0)   # oldest the chart supports (Chart.yaml kubeVersion), newest bundled
export DEBIAN_FRONTEND=noninteractive

explicit_binary=${1:-${CMR_BRIDGE_BINARY:-}}
binary=${explicit_binary:-$root/build/cmr-bridge}
case "$binary" in /*) ;; *) binary=$PWD/$binary ;; esac

log() { echo "k8s/check.sh: $*"; }
step() {
  echo
  log "== $* (at ${SECONDS}s)"
}
die() { echo "k8s/check.sh: $*" >&2; exit 1; }
# Runs a command quietly; prints its output only when it fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
}
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

# --- tools ----------------------------------------------------------------------------------------
step "tools"
apt_missing=()
command -v promtool >/dev/null || apt_missing+=(prometheus)
command -v openssl >/dev/null || apt_missing+=(openssl)
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_missing+=(python3-venv)
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "apt-get install ${apt_missing[*]}"
  # The prometheus package would start a Prometheus server on :9090; keep services from
  # starting during the install (only when no policy is in place already; ours is removed after).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo_cmd[@]}" chmod 755 /usr/sbin/policy-rc.d
    cleanup+=("${sudo_cmd[*]} rm -f /usr/sbin/policy-rc.d")
  fi
  quiet "${sudo_cmd[@]}" apt-get update -qq
  quiet "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
fi

command -v go >/dev/null || die "go is required to install helm and kube-score (https://go.dev/dl or the machine image)"
# go_tool NAME MODULE_PATH PACKAGE VERSION: echoes the path of the binary, installing it if missing.
go_tool() {
  local name=$1 module=$2 package=$3 version=$4 dir bin
  dir=$tools/$name-$version
  bin=$dir/$name
  if [ ! -x "$bin" ] || ! go version -m "$bin" 2>/dev/null | grep -qE "^[[:space:]]*mod[[:space:]]+${module}[[:space:]]+${version}([[:space:]]|$)"; then
    log "go install $package@$version (into $dir)" >&2
    mkdir -p "$dir"
    GOBIN=$dir GOFLAGS=-buildvcs=false quiet go install "$package@$version" >&2
  fi
  echo "$bin"
}
helm=$(go_tool helm helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm "$HELM_VERSION")
kube_score=$(go_tool kube-score github.com/zegl/kube-score github.com/zegl/kube-score/cmd/kube-score "$KUBE_SCORE_VERSION")

venv=$cache/venv
if ! "$venv/bin/python" -c 'import yaml' 2>/dev/null ||
  [ "$("$venv/bin/kubernetes-validate" --version 2>/dev/null || true)" != "$KUBERNETES_VALIDATE_VERSION" ]; then
  log "virtualenv $venv: kubernetes-validate==$KUBERNETES_VALIDATE_VERSION, PyYAML"
  rm -rf "$venv"
  mkdir -p "$cache"
  quiet python3 -m venv "$venv"
  quiet "$venv/bin/pip" install --disable-pip-version-check -q "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" PyYAML
fi
py=$venv/bin/python

if [ ! -x "$binary" ]; then
  [ -z "$explicit_binary" ] || die "binary $binary does not exist or is not executable"
  binary=$root/build-k8s/cmr-bridge
  if [ ! -x "$binary" ]; then
    log "no build/cmr-bridge: building one into build-k8s/ (tests off)"
    bash "$root/deploy/local/install-deps.sh"
    CMR_BRIDGE_BUILD_DIR=$root/build-k8s quiet bash "$root/deploy/local/build.sh" -DCMR_BRIDGE_BUILD_TESTS=OFF
  fi
fi
log "helm $("$helm" version --template '{{.Version}}') ($HELM_VERSION), kube-score $KUBE_SCORE_VERSION," \
  "kubernetes-validate $KUBERNETES_VALIDATE_VERSION, $(promtool --version 2>&1 | head -n 1 | cut -d' ' -f1-3)"
log "binary: $binary ($("$binary" --version))"

work=$(mktemp -d "${TMPDIR:-/tmp}/cmr-bridge-k8s-check.XXXXXX")
cleanup+=("rm -rf '$work'")

# --- 1. helm lint ---------------------------------------------------------------------------------
step "1. helm lint"
kube_version=${KUBE_VERSIONS[-1]}
"$helm" lint --strict --kube-version "$kube_version" "$chart"
"$helm" lint --strict --kube-version "$kube_version" "$chart" -f "$chart/ci/all-features-values.yaml"

# --- 2. helm template -----------------------------------------------------------------------------
step "2. helm template"
"$py" "$here/check_rendered.py" schemas-values "$root/schemas" "$work/schemas-values.yaml"
renders=(default spool all-features)
# Each render once per Kubernetes version (what the chart renders depends on it, e.g. the PDB's
# unhealthyPodEvictionPolicy from 1.27 on): <name>@<version>.yaml; <name>.yaml is the newest.
render() {
  local name=$1 v
  shift
  for v in "${KUBE_VERSIONS[@]}"; do
    "$helm" template cmr-bridge "$chart" --namespace cmr --kube-version "$v" "$@" >"$work/$name@$v.yaml"
  done
  cp "$work/$name@$kube_version.yaml" "$work/$name.yaml"
  log "$name: $(grep '^kind:' "$work/$name.yaml" | cut -d' ' -f2 | sort | uniq -c |
    awk '{printf "%s%s%s", sep, $2, ($1 > 1 ? " x" $1 : ""); sep=", "}')"
}
render default
render spool --set spool.enabled=true
render all-features -f "$chart/ci/all-features-values.yaml" -f "$work/schemas-values.yaml"

# --- 3. schema validation -------------------------------------------------------------------------
step "3. kubernetes-validate --strict (Kubernetes ${KUBE_VERSIONS[*]})"
for r in "${renders[@]}"; do
  for v in "${KUBE_VERSIONS[@]}"; do
    if ! out=$("$venv/bin/kubernetes-validate" --strict --kubernetes-version "$v" --no-warn "$work/$r@$v.yaml" 2>&1); then
      printf '%s\n' "$out" >&2
      die "$r does not validate against Kubernetes $v"
    fi
    log "$r: $(grep -c 'passed for resource' <<<"$out") resources valid against $v"
  done
done

# --- 4. kube-score --------------------------------------------------------------------------------
step "4. kube-score (tests/k8s/kube-score.conf)"
for r in "${renders[@]}"; do
  flags=()
  while read -r scope flag value; do
    case "$scope" in '#'* | '') continue ;; esac
    [ "$scope" = "*" ] || [[ ",$scope," == *",$r,"* ]] || continue
    flags+=("$flag")
    [ -z "$value" ] || flags+=("$value")
  done <"$here/kube-score.conf"
  if ! out=$("$kube_score" score --output-format ci "${flags[@]}" "$work/$r.yaml" 2>&1); then
    grep -v -E '^\[(OK|SKIPPED)\]' <<<"$out" >&2 || printf '%s\n' "$out" >&2
    die "kube-score found problems in the $r render"
  fi
  log "$r: $(grep -c '^\[OK\]' <<<"$out") checks ok, $(grep -c '^\[SKIPPED\]' <<<"$out") skipped by configuration"
done

# --- 5. manifest assertions -----------------------------------------------------------------------
step "5. manifest assertions"
rules=$root/deploy/prometheus/cmr-bridge.rules.yaml
dashboard=$root/deploy/grafana/cmr-bridge.json
for r in default:Deployment spool:StatefulSet all-features:StatefulSet; do
  "$py" "$here/check_rendered.py" manifests "$work/${r%%:*}.yaml" --kind "${r##*:}" --rules "$rules" \
    --dashboard "$dashboard" --binary "$binary"
done
"$py" "$here/check_rendered.py" matrix --helm "$helm" --chart "$chart" --binary "$binary" \
  --rules "$rules" --dashboard "$dashboard"

# --- 6. alert rules -------------------------------------------------------------------------------
step "6. promtool"
promtool check rules "$rules"
(cd "$root/deploy/prometheus" && promtool test rules cmr-bridge.rules.test.yaml)
"$py" "$here/check_rendered.py" runbooks "$rules" "$root/docs/runbooks.md"
for pair in "$rules $chart/files/cmr-bridge.rules.yaml" "$dashboard $chart/files/cmr-bridge.json"; do
  read -r original copy <<<"$pair"
  cmp -s "$original" "$copy" || die "$copy differs from $original (cp $original $copy)"
done
log "chart's files/ copies are identical to deploy/prometheus and deploy/grafana"

# --- 7. dashboard ---------------------------------------------------------------------------------
step "7. Grafana dashboard"
"$py" "$here/check_rendered.py" dashboard "$dashboard" --rules "$rules" --src "$root/src"

# --- 8. chart environment vs the binary -----------------------------------------------------------
step "8. chart environment vs $("$binary" --version)"
"$py" "$here/check_rendered.py" env "$work/default.yaml" --binary "$binary"
"$py" "$here/check_rendered.py" env "$work/spool.yaml" --binary "$binary" --allow-pending
"$py" "$here/check_rendered.py" env "$work/all-features.yaml" --binary "$binary" --allow-pending
