#!/usr/bin/env bash
# Fills the caches the consumer-interop tests (tests/interop) and the reference consumer
# (examples/provisioning-consumer) need, from the public registries only:
#   python    PyPI       → .cache/interop/venv          (cloudevents, confluent-kafka)
#   go        Go proxy   → .cache/interop/go/{mod,build} (cloudevents/sdk-go + kafka_sarama)
#   java      Maven      → ~/.m2, tests/interop/java/target (cloudevents-kafka, kafka-clients)
#   asyncapi  npm        → .cache/interop/npm            (@asyncapi/parser)
# Usage: interop-deps.sh [python|go|java|asyncapi|all]...  (default all). Idempotent: a filled
# cache whose pinned versions match is left alone, so the tests can call it before each run.
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cache="$root/.cache/interop"
mkdir -p "$cache"

# Pinned versions: change them here only.
python_requirements="$root/tests/interop/python/requirements.txt"
asyncapi_parser_version=3.6.6

python_deps() {
  local venv="$cache/venv" stamp="$cache/venv/.requirements"
  if [ -x "$venv/bin/python" ] && cmp -s "$python_requirements" "$stamp"; then return; fi
  echo "interop-deps: python venv → $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$python_requirements"
  cp "$python_requirements" "$stamp"
}

go_deps() {
  local version
  version=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || true
  if [ -z "$version" ] || [ "$(printf '%s\n1.23\n' "$version" | sort -V | head -1)" != 1.23 ]; then
    echo "interop-deps: Go >= 1.23 is needed for tests/interop/go (found: ${version:-none};" \
      "Debian 12's golang-go is 1.19: install from https://go.dev/dl)" >&2
    exit 1
  fi
  local checker="$cache/go/bin/interop-check"
  if [ -x "$checker" ] && [ -z "$(find "$root/tests/interop/go" -newer "$checker" -print -quit)" ]; then
    return
  fi
  mkdir -p "$cache/go/mod" "$cache/go/build" "$cache/go/bin"
  echo "interop-deps: go modules → $cache/go"
  (cd "$root/tests/interop/go" &&
    GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS=-mod=readonly \
      GOPROXY=https://proxy.golang.org \
      go build -o "$checker" .)
}

java_deps() {
  local project="$root/tests/interop/java" jar="$root/tests/interop/java/target/cmr-interop-java-1.jar"
  if [ -f "$jar" ] && [ -d "$project/target/lib" ] &&
    [ -z "$(find "$project/pom.xml" "$project/src" -newer "$jar" -print -quit)" ]; then
    return
  fi
  command -v mvn >/dev/null || { echo "interop-deps: mvn is not installed (deploy/local/install-deps.sh installs it)" >&2; exit 1; }
  echo "interop-deps: java (maven) → tests/interop/java/target"
  mvn -q -f "$root/tests/interop/java/pom.xml" -DskipTests package dependency:copy-dependencies \
    -DoutputDirectory=target/lib -DincludeScope=runtime
}

asyncapi_deps() {
  local dir="$cache/npm"
  if [ -f "$dir/node_modules/@asyncapi/parser/package.json" ] &&
    grep -q "\"version\": \"$asyncapi_parser_version\"" "$dir/node_modules/@asyncapi/parser/package.json"; then
    return
  fi
  command -v npm >/dev/null || { echo "interop-deps: npm is not installed (apt-get install npm)" >&2; exit 1; }
  echo "interop-deps: @asyncapi/parser@$asyncapi_parser_version → $dir"
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" "@asyncapi/parser@$asyncapi_parser_version"
}

[ $# -gt 0 ] || set -- all
for what in "$@"; do
  case "$what" in
    python) python_deps ;;
    go) go_deps ;;
    java) java_deps ;;
    asyncapi) asyncapi_deps ;;
    all) python_deps; go_deps; java_deps; asyncapi_deps ;;
    *) echo "interop-deps: unknown part '$what' (python|go|java|asyncapi|all)" >&2; exit 2 ;;
  esac
done
