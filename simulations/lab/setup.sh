#!/usr/bin/env bash
# The network lab's Debian packages: nftables (loss rules), iproute2 (namespaces, tc tbf),
# python3 (the TUN delay line). Run by .ci/run and by the lab itself when a tool is missing.
set -euo pipefail
need=()
[ -x /usr/sbin/nft ] || need+=(nftables)
[ -x /usr/sbin/tc ] && [ -x /usr/sbin/ip ] || need+=(iproute2)
[ -x /usr/bin/python3 ] || need+=(python3)
[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "lab setup: installing ${need[*]} needs root" >&2
  exit 77
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
