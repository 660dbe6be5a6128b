#!/usr/bin/env bash
# Installs the Debian packages of the real peers the tests run against (see docs/testing.md).
# Needs root. Idempotent: skips apt when every package is already installed.
set -euo pipefail
PKGS=(
  git iproute2 procps
  openipmi ipmitool python3-pyghmi                       # IPMI peers (ipmi_sim, pyghmi fakebmc) and cross-check client
  isc-dhcp-client busybox udhcpc tftp-hpa tftpd-hpa atftp dnsmasq kea-admin   # DHCP/TFTP clients and reference servers
  qemu-system-x86 ipxe-qemu ipxe                          # netboot end to end; iPXE binaries served by TFTP
  chromium                                                # status page browser tests
)
if [ "$(id -u)" != 0 ]; then
  echo "test-deps: must run as root (installs Debian packages, tests create network namespaces)" >&2
  exit 1
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
# dnsmasq's postinst may start the system service; tests need ports 67/69 free.
if pgrep -x dnsmasq >/dev/null 2>&1 && [ -z "${GOUGH_KEEP_DNSMASQ:-}" ]; then
  systemctl stop dnsmasq 2>/dev/null || pkill -x dnsmasq || true
fi
echo "test-deps: ok"
