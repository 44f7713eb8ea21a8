#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian machine (run as root, or with sudo available):
# the Debian packages below, then the npm dependencies (Node 24 itself comes from the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  mitmproxy squid-openssl            # real TLS-inspection proxies (mitmdump; squid with ssl-bump)
  curl wget git openssl ca-certificates python3 default-jdk-headless  # real clients
  buildah skopeo umoci debootstrap busybox-static dash zstd uidmap fuse-overlayfs  # real image builds
  docker.io docker-registry apache2-utils  # a real Docker Engine (20.10, BuildKit) and registry (htpasswd for its basic auth)
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund
