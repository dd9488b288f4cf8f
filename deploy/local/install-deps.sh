#!/usr/bin/env bash
# Installs the Debian packages cmr-bridge needs to build, test and run locally.
# Idempotent: packages already present are skipped; apt-get runs only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libcpp-httplib-dev libssl-dev librdkafka-dev rapidjson-dev prometheus-cpp-dev doctest-dev
  zlib1g-dev
  clang-format shellcheck flake8
  default-jdk-headless maven
  curl ca-certificates
  # Consumer-interop tests and the reference consumer (deploy/local/interop-deps.sh fills their
  # caches; Go >= 1.23 must come with the machine: Debian 12's golang-go is 1.19).
  python3-venv nodejs npm
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# A JDK and Maven that came with the machine (not from Debian) are good enough.
if command -v java >/dev/null && command -v mvn >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in default-jdk-headless|maven) ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
# The same for a Node.js that brings its own npm (e.g. NodeSource's nodejs package).
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]+"${missing[@]}"}"; do
    case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
