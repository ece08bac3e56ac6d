#!/usr/bin/env bash
# Install (Debian packages docker.io and debootstrap; needs root) and start a Docker engine when none
# is reachable. Used by tests/run.sh; users with Docker Desktop or a running engine never need it.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
docker info >/dev/null 2>&1 || { echo "docker engine did not start; see /var/log/dockerd.log" >&2; exit 1; }
echo "docker engine ready"
