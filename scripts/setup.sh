#!/usr/bin/env bash
# Installs what prescient needs to build, test and run its tools on Debian (bookworm).
# Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(cmake g++ make pkg-config libeigen3-dev libxgboost-dev xgboost libgtest-dev libbenchmark-dev libsqlite3-dev libcli11-dev
          liblzma-dev zlib1g-dev libzstd-dev)
# The Dask driver (tools/dask) and its test: Debian's Python packages, which
# /usr/bin/python3 sees (a python3 earlier on PATH may not).
packages+=(python3-numpy python3-pandas python3-dask python3-distributed python3-xgboost)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  echo "setup: installing ${missing[*]}" >&2
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
