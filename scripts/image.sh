#!/usr/bin/env bash
# The one Flokk image, built here without a Docker engine (README, "Image"): Debian's buildah with
# chroot isolation and vfs storage, on a Debian bookworm base that debootstrap makes (no image can
# be fetched from an outside registry). buildah's whole store lives under .tools/image/.
#
#   scripts/image.sh build            buildah and debootstrap when missing, the base when missing,
#                                     then the image localhost/flokk:<version> (`make image`)
#   scripts/image.sh smoke            every service from the image against a local broker and store,
#                                     one registration through to its receipt (`make image-smoke`;
#                                     test slot FLOKK_TEST_SLOT, 9 unless set)
#   scripts/image.sh size             the image's size
#   scripts/image.sh clean            buildah's store and the base removed (.tools/image)
#   scripts/image.sh buildah ARGS...  buildah on the project's store, e.g. `images` or `rmi --all`
#
# DEBIAN_MIRROR overrides debootstrap's default Debian mirror.
set -euo pipefail
FLOKK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$FLOKK_ROOT/.tools/image"
SUITE=bookworm  # Debian 12, whose python3 is 3.11
BASE_NAME=localhost/flokk-base BASE_TAG="$SUITE"
BASE_IMAGE="$BASE_NAME:$BASE_TAG"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$FLOKK_ROOT/pyproject.toml")"
IMAGE="localhost/flokk:$VERSION"
export BUILDAH_ISOLATION=chroot

say() { printf '[image] %s\n' "$*" >&2; }
die() { printf '[image] ERROR: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
bah() { as_root buildah --root "$STATE/storage" --runroot "$STATE/run" --storage-driver vfs "$@"; }

install_tools() {
  command -v buildah >/dev/null && command -v debootstrap >/dev/null && return
  say "installing buildah and debootstrap (Debian packages)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq buildah debootstrap >/dev/null
}

build_base() {
  bah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1 && return
  say "making the base $BASE_IMAGE: Debian $SUITE (minbase), its python3 and CA certificates, by debootstrap"
  local rootfs="$STATE/rootfs" ctr
  mkdir -p "$STATE"
  as_root rm -rf "$rootfs"
  # shellcheck disable=SC2086  # an empty DEBIAN_MIRROR is no argument: debootstrap's default
  as_root debootstrap --variant=minbase --include=python3,ca-certificates "$SUITE" "$rootfs" ${DEBIAN_MIRROR:-} \
    >"$STATE/debootstrap.log" 2>&1 || { tail -20 "$STATE/debootstrap.log" >&2; die "debootstrap failed"; }
  # What no container needs: the downloaded packages, the package lists (a build stage that installs
  # fetches its own), documentation, translations, the install logs.
  as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
    "$rootfs"/var/log/*
  ctr="$(bah from scratch)"
  as_root tar -C "$rootfs" -cf - . | as_root tar -C "$(bah mount "$ctr")" -xf -
  bah umount "$ctr" >/dev/null
  bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 --cmd /bin/bash \
    --label org.opencontainers.image.title=flokk-base --label "org.opencontainers.image.version=$BASE_TAG" "$ctr"
  bah commit --rm --quiet "$ctr" "$BASE_IMAGE" >/dev/null
  as_root rm -rf "$rootfs"
}

build() {
  install_tools
  build_base
  say "building $IMAGE on $BASE_IMAGE"
  # The build's pip trusts what this machine trusts (a TLS-inspecting proxy's CA, say): the host's
  # CA bundle is mounted over the base's while each RUN step runs, and is in no layer.
  local trust=() host_ca=/etc/ssl/certs/ca-certificates.crt
  [ -s "$host_ca" ] && trust=(--volume "$host_ca:$host_ca:ro")
  # No --layers: with vfs every cached step is a full copy of the file system (8.6 GB for this
  # Dockerfile), slower to write and delete than the install it saves. docker format: it keeps
  # the HEALTHCHECK.
  bah bud --format docker "${trust[@]}" --build-arg "BASE_IMAGE=$BASE_NAME" --build-arg "BASE_TAG=$BASE_TAG" --tag "$IMAGE" --file Dockerfile "$FLOKK_ROOT" \
    >"$STATE/build.log" 2>&1 || { tail -40 "$STATE/build.log" >&2; die "the build failed (log: $STATE/build.log)"; }
  bah rmi --prune >/dev/null  # the image this one replaced, untagged now
  say "built $IMAGE: $(size)"
}

clean() {  # the whole store, base included: the next build starts from nothing
  [ -d "$STATE" ] || return 0
  bah rm --all >/dev/null
  bah rmi --all --force >/dev/null || true
  as_root rm -rf "$STATE"
}

size() { bah images --format '{{.Size}}' "$IMAGE"; }

smoke() {
  bah inspect --type image "$IMAGE" >/dev/null 2>&1 || die "no image $IMAGE: run \`make image\` first"
  export FLOKK_MODE=test FLOKK_TEST_SLOT="${FLOKK_TEST_SLOT:-9}"
  # shellcheck source=env.sh
  . "$FLOKK_ROOT/scripts/env.sh"
  bash "$FLOKK_ROOT/scripts/bootstrap.sh" venv
  bash "$FLOKK_ROOT/scripts/infra.sh" install
  bash "$FLOKK_ROOT/scripts/infra.sh" start
  [ -n "${FLOKK_KEEP_INFRA:-}" ] || trap 'bash "$FLOKK_ROOT/scripts/infra.sh" stop' EXIT
  FLOKK_IMAGE="$IMAGE" "$FLOKK_ROOT/.venv/bin/python" "$FLOKK_ROOT/scripts/image_smoke.py"
}

case "${1:-}" in
  build) build ;;
  smoke) smoke ;;
  size) size ;;
  clean) clean ;;
  buildah) shift; bah "$@" ;;
  *) echo "usage: $0 build | smoke | size | clean | buildah ARGS..." >&2; exit 2 ;;
esac
