#!/usr/bin/env bash
# Installs the system packages imgverify's tests, benchmarks and demo need, when missing:
# Debian's docker-registry (distribution 2.8), run by them as a plain process on 127.0.0.1.
set -euo pipefail
if command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ]; then
  exit 0
fi
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_root apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y docker-registry
