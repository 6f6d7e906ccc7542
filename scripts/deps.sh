#!/usr/bin/env bash
# Installs the Debian packages microvm needs when they are missing:
# mmdebstrap builds the guest image; iproute2 and util-linux run guests;
# openvpn, microsocks, curl, wrk and openssh are test and benchmark peers.
set -euo pipefail

pkgs=(ca-certificates curl git iproute2 util-linux mmdebstrap zstd openvpn microsocks wrk
      openssh-client openssh-server dnsmasq netcat-openbsd libarchive-tools
      chromium fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	echo "missing Debian packages: ${missing[*]}" >&2
	echo "install them as root: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
