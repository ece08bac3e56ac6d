#!/usr/bin/env bash
# Build a sandbox base image from Debian packages, for machines that cannot pull from a registry.
# Usage: sandboxes/offline-base.sh [TAG]   (default tag: agent-offline-base:bookworm)
# Needs root, debootstrap and a running Docker engine.
set -euo pipefail
tag="${1:-agent-offline-base:bookworm}"
suite="${AGENT_DEBIAN_SUITE:-bookworm}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "offline-base: $tag already present"
  exit 0
fi
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
echo "offline-base: debootstrap $suite into $rootfs"
debootstrap --variant=minbase \
  --include=python3,python3-pytest,python3-pip,git,ca-certificates,procps \
  "$suite" "$rootfs" >/dev/null
# Make the rootfs look like the python images the Dockerfile expects.
ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
echo "offline-base: built $tag"
