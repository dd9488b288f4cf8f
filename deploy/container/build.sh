#!/usr/bin/env bash
# Builds the cmr-bridge container image with buildah, without any image registry, and smoke-tests
# it. Idempotent; works from any directory, with CI=true and no standard input.
#
#   bash deploy/container/build.sh
#
# Steps:
#   1. installs buildah and debootstrap when missing (Debian packages);
#   2. base image: $CMR_BRIDGE_BASE_IMAGE in buildah's storage. When it is absent, a debootstrap of
#      Debian bookworm (minbase, slimmed like debian:bookworm-slim) from the apt mirror this
#      machine is configured with is made into a tarball in the cache (reused when present) and
#      imported with `buildah from scratch` + `buildah add` + `buildah commit`;
#   3. `buildah build` of deploy/container/Containerfile, context = the repository root, filtered by
#      deploy/container/.containerignore, BASE_IMAGE = that base, --layers (the toolchain layer is
#      reused until the package list changes);
#   4. checks the image config (numeric non-root user, ENTRYPOINT, CMD, exposed ports) and runs
#      `cmr-bridge --version`, `cmr-bridge --help`, `id -u` and, when the binary has it,
#      `cmr-bridge check-config` (the schemas shipped in the image load) inside the image
#      (buildah from + buildah run).
# Storage: buildah --storage-driver vfs in its default root (/var/lib/containers/storage), so the
# base and the layer cache survive between runs and clones on the same machine; isolation chroot.
#
# Environment (all optional):
#   CMR_BRIDGE_IMAGE           tag to build          (default localhost/cmr-bridge:<project version>)
#   CMR_BRIDGE_BASE_IMAGE      base image name       (default localhost/cmr-bridge-base:bookworm)
#   CMR_BRIDGE_CACHE_DIR       cache root            (default <repo>/.cache; tarball in container/)
#   CMR_BRIDGE_DEBIAN_MIRROR   bookworm mirror       (default: the one in /etc/apt/sources.list*)
#   CMR_BRIDGE_DEBIAN_SECURITY_MIRROR                (default: likewise for bookworm-security)
#   CMR_BRIDGE_REBUILD_BASE=1  debootstrap and import the base again
#   CMR_BRIDGE_BUILD_TYPE      CMake build type in the image (default RelWithDebInfo, as the
#                              tested local builds; the binary is stripped)
#
# Elsewhere, the same Containerfile builds from the public base:
#   docker build -f deploy/container/Containerfile -t cmr-bridge:dev .
set -euo pipefail

started=$(date +%s)
cleanup=()  # shell snippets run at exit, before the timing line
on_exit() {
  local rc=$? c
  for c in "${cleanup[@]+"${cleanup[@]}"}"; do eval "$c" || true; done
  echo "container/build.sh: $([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)") in $(( $(date +%s) - started ))s"
}
trap on_exit EXIT

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
version=$(sed -n 's/^project(cmr_bridge VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
image=${CMR_BRIDGE_IMAGE:-localhost/cmr-bridge:${version:-dev}}
base_image=${CMR_BRIDGE_BASE_IMAGE:-localhost/cmr-bridge-base:bookworm}
cache=${CMR_BRIDGE_CACHE_DIR:-$root/.cache}/container
tarball=$cache/debian-bookworm-minbase.tar
export BUILDAH_ISOLATION=chroot
export DEBIAN_FRONTEND=noninteractive
bh() { buildah --storage-driver vfs "$@"; }
log() { echo "container/build.sh: $*"; }

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

# --- 1. tools -------------------------------------------------------------------------------------
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "$(id -u)" -ne 0 ]; then
  # debootstrap and vfs storage in the system root need root; rerun the whole script under sudo.
  exec sudo --preserve-env=CI,CMR_BRIDGE_IMAGE,CMR_BRIDGE_BASE_IMAGE,CMR_BRIDGE_CACHE_DIR,CMR_BRIDGE_DEBIAN_MIRROR,CMR_BRIDGE_DEBIAN_SECURITY_MIRROR,CMR_BRIDGE_REBUILD_BASE,CMR_BRIDGE_BUILD_TYPE bash "$0" "$@"
fi

# --- 2. base image --------------------------------------------------------------------------------
# Prints the first URI that apt on this machine uses for SUITE (one-line and deb822 formats).
apt_mirror_for() {
  local suite=$1 f
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk -v s="$suite" '$1 == "deb" {
          i = 2
          if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
          if ($(i + 1) == s) { print $i; exit }
        }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
        {
          uri = ""; hit = 0; deb = 0
          for (j = 1; j <= NF; j++) {
            if ($j ~ /^URIs:/) { split($j, a, /[ \t]+/); uri = a[2] }
            if ($j ~ /^Types:/ && $j ~ /[ \t]deb([ \t]|$)/) deb = 1
            if ($j ~ /^Suites:/) { n = split($j, b, /[ \t]+/); for (k = 2; k <= n; k++) if (b[k] == s) hit = 1 }
          }
          if (hit && deb && uri != "") { print uri; exit }
        }' "$f"
    done
  } | head -n 1
}

make_base_tarball() {
  local mirror security work rootfs include=()
  mirror=${CMR_BRIDGE_DEBIAN_MIRROR:-$(apt_mirror_for bookworm)}
  mirror=${mirror:-http://deb.debian.org/debian}
  security=${CMR_BRIDGE_DEBIAN_SECURITY_MIRROR:-$(apt_mirror_for bookworm-security)}
  security=${security:-http://deb.debian.org/debian-security}
  case "$mirror $security" in *https:*) include=(--include=ca-certificates) ;; esac
  log "debootstrap bookworm (minbase) from $mirror"
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/debootstrap.XXXXXX")
  rootfs=$work/rootfs
  cleanup+=("rm -rf '$work'")
  debootstrap --variant=minbase --arch="$(dpkg --print-architecture)" "${include[@]}" \
    bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    return 1
  }
  # Make it look like debian:bookworm-slim: deb822 sources with updates and security, no docs,
  # man pages or locales (now or from later installs), empty apt lists and caches.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/slim" <<'EOF'
APT::Install-Recommends "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda,locale}/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/etc/hostname "$rootfs"/etc/resolv.conf
  tar --numeric-owner -C "$rootfs" -cf "$work/base.tar" .
  mv "$work/base.tar" "$tarball"
  rm -rf "$work"
}

if [ "${CMR_BRIDGE_REBUILD_BASE:-0}" = 1 ]; then
  rm -f "$tarball"
  bh rmi "$base_image" >/dev/null 2>&1 || true
fi
if bh inspect --type image "$base_image" >/dev/null 2>&1; then
  log "base image $base_image present"
else
  if [ -s "$tarball" ]; then
    log "reusing $tarball"
  else
    make_base_tarball
  fi
  log "importing $tarball as $base_image"
  ctr=$(bh from --pull=never scratch)
  cleanup+=("bh rm '$ctr' >/dev/null 2>&1")
  bh add "$ctr" "$tarball" / >/dev/null
  bh config --os linux --arch "$(dpkg --print-architecture)" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd bash --label org.opencontainers.image.description="debootstrap of Debian bookworm (minbase, slim)" \
    "$ctr"
  bh commit --quiet --rm "$ctr" "$base_image" >/dev/null
fi

# --- 3. build -------------------------------------------------------------------------------------
build_log=$cache/build.log
mkdir -p "$cache"
log "building $image (buildah build, vfs, chroot isolation; full log: $build_log)"
# Only the step lines reach the console; the whole output (apt, compiler) goes to the log and
# its tail is printed when the build fails.
if ! bh build --isolation chroot --layers --pull=never \
  --build-arg BASE_IMAGE="$base_image" \
  --build-arg BUILD_TYPE="${CMR_BRIDGE_BUILD_TYPE:-RelWithDebInfo}" \
  --file "$root/deploy/container/Containerfile" \
  --ignorefile "$root/deploy/container/.containerignore" \
  --tag "$image" \
  "$root" >"$build_log" 2>&1; then
  tail -n 60 "$build_log" >&2
  echo "container/build.sh: buildah build failed; full log: $build_log" >&2
  exit 1
fi
grep -E '^(\[[0-9]+/[0-9]+\] )?(STEP [0-9]+/[0-9]+: (FROM|RUN|COPY)|COMMIT)|Using cache' "$build_log" | cut -c1-150 || true

# vfs stores every layer as a full copy (~500 MB for a build-stage step): drop the untagged
# images that earlier builds left and this one did not use, so the storage stays at one
# build's worth. The layers this build made or reused are kept: they are the next build's cache.
used=$(grep -oE '^--> (Using cache )?[0-9a-f]{11}' "$build_log" | grep -oE '[0-9a-f]{11}$' | sort -u)
for _ in 1 2 3 4 5 6; do
  removed=0
  for id in $(bh images --all --filter dangling=true --no-trunc -q 2>/dev/null); do
    short=${id#sha256:}
    short=${short:0:11}
    grep -qx "$short" <<<"$used" && continue
    bh rmi "$id" >/dev/null 2>&1 && removed=$((removed + 1))
  done
  [ "$removed" -gt 0 ] || break
done

# --- 4. smoke test --------------------------------------------------------------------------------
fail() { echo "container/build.sh: $*" >&2; exit 1; }
config=$(bh inspect --type image --format \
  'user={{.OCIv1.Config.User}} entrypoint={{.OCIv1.Config.Entrypoint}} cmd={{.OCIv1.Config.Cmd}} ports={{.OCIv1.Config.ExposedPorts}}' \
  "$image")
log "image config: $config"
case "$config" in *'user=10001:10001 '*) ;; *) fail "image user is not 10001:10001" ;; esac
case "$config" in *'entrypoint=[/usr/local/bin/cmr-bridge] '*) ;; *) fail "unexpected ENTRYPOINT" ;; esac
case "$config" in *'cmd=[serve] '*) ;; *) fail "unexpected CMD" ;; esac
case "$config" in *'8080/tcp'*'9090/tcp'*) ;; *) fail "ports 8080 and 9090 are not exposed" ;; esac

ctr=$(bh from --pull=never --quiet "$image")
cleanup+=("bh rm '$ctr' >/dev/null 2>&1")
out=$(bh run "$ctr" -- /usr/local/bin/cmr-bridge --version)
log "in image: $out"
[ "$out" = "cmr-bridge $version" ] || fail "--version printed '$out', expected 'cmr-bridge $version'"
help=$(bh run "$ctr" -- /usr/local/bin/cmr-bridge --help)
grep -q '^  CMR_BRIDGE_SIGNING_KEYS' <<<"$help" || fail "--help does not list the environment"
log "in image: --help ok ($(wc -l <<<"$help") lines)"
if grep -q 'check-config' <<<"$help"; then
  # The image's own schemas (and routes) load: the configuration check that `serve` runs at start.
  out=$(bh run --env CMR_BRIDGE_SIGNING_KEYS=image-smoke-test "$ctr" -- /usr/local/bin/cmr-bridge check-config 2>&1) ||
    fail "check-config fails inside the image: $out"
  log "in image: check-config: $out"
fi
uid=$(bh run "$ctr" -- id -u)
[ "$uid" = 10001 ] || fail "runs as uid $uid, expected 10001"
log "in image: runs as uid $uid"
log "built $image ($(bh images --format '{{.Size}}' "$image" 2>/dev/null | head -n 1))"
