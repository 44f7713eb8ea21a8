#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian machine (run as root, or with sudo available):
# the Debian packages below, then the npm dependencies (Node 24 itself comes from the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  mitmproxy squid-openssl            # real TLS-inspection proxies (mitmdump; squid with ssl-bump)
  curl wget git openssl ca-certificates python3 default-jdk-headless  # real clients
  libwww-perl liblwp-protocol-https-perl wget2                      # more real clients (Perl LWP, wget2)
  buildah skopeo umoci debootstrap busybox-static dash zstd uidmap fuse-overlayfs  # real image builds
  chromium libnss3-tools             # browsers read only NSS databases (org-ca store --stores browsers)
  python3-pip docker.io util-linux   # native strategy (Debian's pip), runner hooks' job containers (dockerd), unshare
  zip unzip bzip2 xz-utils binutils rpm cpio  # real archives for the leak check's nested scan
  lz4 libbcprov-java                 # stores and archives the leak check lists as not opened (LZ4; BCFKS, BKS, UBER via keytool)
  docker-registry apache2-utils      # a real registry (htpasswd for its basic auth), beside docker.io's Engine (20.10, BuildKit)
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

# The registry tests address their loopback registry by name: Go clients (dockerd, buildah, skopeo) never send
# 127.0.0.1 or localhost through HTTPS_PROXY, and the tests need the pull to go through the inspection proxy.
for name in vm runsc; do
  grep -Eq "^127\.0\.0\.1[[:space:]].*\b${name}\b" /etc/hosts && continue
  if [ -w /etc/hosts ]; then echo "127.0.0.1 ${name}" >> /etc/hosts; else echo "setup: add '127.0.0.1 ${name}' to /etc/hosts (needs root)" >&2; fi
done

echo "setup: npm ci"
npm ci --no-audit --no-fund
