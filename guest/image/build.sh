#!/bin/sh
# build.sh AGENT IMAGE
#
# Builds the microvm guest image IMAGE (e.g. bin/microvm-guest.tar.gz): a Debian
# root file system that `wsl --import` takes on Windows and the Linux
# sandbox unpacks, with the agent at /usr/local/bin/microvm-agent.
#
# The image is two gzip members, which gzip and tar read as one stream:
#   1. the base: mmdebstrap's essential set plus packages.txt, wsl.conf
#      and dpkg.cfg, without the tar end-of-archive blocks. It is cached
#      next to IMAGE, in guest-cache/, under a hash of its inputs;
#   2. the agent layer: the agent binary and the end of the archive.
# So a new agent costs a second, not a bootstrap. When nothing changed
# (IMAGE.stamp), nothing is rebuilt.
#
# Needs root, mmdebstrap, tar, gzip, sha256sum. Packages come from the
# host's apt sources (MICROVM_APT_SOURCES, default the host's Debian
# sources file); MICROVM_SUITE picks the release (default: the host's).
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 AGENT IMAGE" >&2
	exit 2
fi
agent=$1
image=$2
cache=$(dirname "$image")/guest-cache
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$agent" ]; then
	echo "build.sh: agent $agent: not an executable file" >&2
	exit 1
fi
if [ -z "${MICROVM_APT_SOURCES:-}" ]; then
	for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
		if [ -s "$f" ]; then
			MICROVM_APT_SOURCES=$f
			break
		fi
	done
fi
sources=${MICROVM_APT_SOURCES:?no apt sources found; set MICROVM_APT_SOURCES}
suite=${MICROVM_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:?}")}

mkdir -p "$cache"
stamp=$image.stamp

# Inputs of the base, and of the whole image.
base_key=$(cat "$here/build.sh" "$here/packages.txt" "$here/wsl.conf" "$here/dpkg.cfg" "$sources" |
	{ sha256sum; echo "$suite"; } | sha256sum | cut -c1-16)
agent_sum=$(sha256sum <"$agent" | cut -c1-64)
key="$base_key $agent_sum"
base=$cache/base-$base_key.tar.gz

if [ -s "$image" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
	echo "build.sh: $image is up to date"
	exit 0
fi

tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# strip_eof drops the two zero blocks that end a tar archive written with
# 512-byte records (tar -b1), so more members can follow.
strip_eof() {
	size=$(stat -c %s "$1")
	if [ "$(tail -c 1024 "$1" | tr -d '\000' | wc -c)" -ne 0 ]; then
		echo "build.sh: $1 does not end in tar end-of-archive blocks" >&2
		exit 1
	fi
	truncate -s $((size - 1024)) "$1"
}

if [ ! -s "$base" ]; then
	start=$(date +%s)
	packages=$(grep -v '^#' "$here/packages.txt" | grep -v '^[[:space:]]*$' | paste -sd, -)
	# essential, not minbase: the guest is an appliance rebuilt from this
	# script, so it carries no apt (about 11 MB with its libraries).
	# merged-usr: install usr-is-merged, not usrmerge and all of perl.
	mmdebstrap --variant=essential --mode=root \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--include="$packages" \
		--dpkgopt="$here/dpkg.cfg" \
		--customize-hook='install -m 0644 "'"$here"'/wsl.conf" "$1/etc/wsl.conf"' \
		--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old "$1"/var/log/*' \
		--customize-hook='rm -f "$1"/etc/hostname "$1"/etc/resolv.conf' \
		"$suite" "$tmp/rootfs" "$sources"
	tar -C "$tmp/rootfs" -b1 --numeric-owner --sort=name --xattrs --xattrs-include='security.capability' \
		-cf "$tmp/base.tar" .
	strip_eof "$tmp/base.tar"
	gzip -9n <"$tmp/base.tar" >"$tmp/base.tar.gz"
	rm -f "$cache"/base-*.tar.gz
	mv "$tmp/base.tar.gz" "$base"
	echo "build.sh: base $(du -k "$tmp/base.tar" | cut -f1) KiB unpacked, $(du -k "$base" | cut -f1) KiB compressed, $(($(date +%s) - start)) s"
fi

mkdir -p "$tmp/layer/usr/local/bin"
install -m 0755 "$agent" "$tmp/layer/usr/local/bin/microvm-agent"
tar -C "$tmp/layer" -b1 --numeric-owner --owner=0 --group=0 --mtime=@0 \
	-cf "$tmp/layer.tar" ./usr/local/bin/microvm-agent
gzip -9n <"$tmp/layer.tar" >"$tmp/layer.tar.gz"
cat "$base" "$tmp/layer.tar.gz" >"$tmp/image.tar.gz"

# The image must read as one archive holding both layers.
listing=$(tar -tzf "$tmp/image.tar.gz")
for want in ./etc/wsl.conf ./etc/os-release ./usr/sbin/openvpn ./usr/local/bin/microvm-agent; do
	if ! printf '%s\n' "$listing" | grep -qx "$want"; then
		echo "build.sh: $want missing from the image" >&2
		exit 1
	fi
done

# WSL extracts with bsdtar: check that it reads both members too.
if command -v bsdtar >/dev/null && ! bsdtar -tzf "$tmp/image.tar.gz" | grep -qx './usr/local/bin/microvm-agent'; then
	echo "build.sh: bsdtar does not see the agent layer" >&2
	exit 1
fi

mv "$tmp/image.tar.gz" "$image"
echo "$key" >"$stamp"
echo "build.sh: $image $(du -k "$image" | cut -f1) KiB"
