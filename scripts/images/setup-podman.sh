#!/usr/bin/env bash
# Installs Podman from Debian's packages and configures it for a machine like the CI's:
# root, no systemd, a hybrid (v1) cgroup layout, and no container registry. Run as root;
# safe to run again. A machine with a working Docker or Podman does not need it.
#
#   - podman, buildah (podman build), debootstrap (scripts/images/make-base-image.sh),
#     runc: crun cannot raise the file limits here and refuses the hybrid cgroup layout;
#   - /etc/containers/containers.conf: runc, cgroupfs (no systemd), events to a file, and
#     container ulimits no higher than the machine allows (podman's default asks for more
#     open files than this kernel's hard limit, and then no container starts).
set -euo pipefail

say() { printf 'setup-podman: %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { say "error: run as root"; exit 1; }

packages=(podman buildah debootstrap runc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  apt-get update -qq
  # Another apt run (a second job on the same machine) holds the lock for a while at most.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" > /dev/null
fi

nofile="$(ulimit -Hn)"
conf=/etc/containers/containers.conf
want="$(cat << EOF
# Written by scripts/images/setup-podman.sh.
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
)"
if [ "$(cat "$conf" 2> /dev/null)" != "$want" ]; then
  [ -f "$conf" ] && ! grep -q 'scripts/images/setup-podman.sh' "$conf" && cp "$conf" "$conf.orig" && say "kept the previous $conf as $conf.orig"
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" > "$conf"
  say "wrote $conf"
fi
podman --version >&2
