#!/usr/bin/env bash
# Makes the Dockerfiles' base image locally, for a machine that reaches Debian's package
# mirror but no container registry:
#
#   scripts/images/make-base-image.sh ENGINE IMAGE KEY
#
# ENGINE is podman or docker, IMAGE the exact name the Dockerfiles' FROM uses
# (docker.io/library/node:20-bookworm-slim), KEY a label stored on the image so that
# scripts/images.sh can tell a stale local build from a current one.
#
# What it holds, like the official image where the services rely on it: Debian bookworm
# (debootstrap --variant=minbase, from the mirror the machine's own apt sources name), the
# host's Node 20 and npm under /usr/local, a `node` user with uid 1000, and the host's CA
# bundle with NODE_EXTRA_CA_CERTS pointing at it (npm's traffic may pass a local
# certificate authority, as it does on the CI machines). Needs root (debootstrap, chroot).
set -euo pipefail

engine="${1:?usage: make-base-image.sh ENGINE IMAGE KEY}"
image="${2:?usage: make-base-image.sh ENGINE IMAGE KEY}"
key="${3:?usage: make-base-image.sh ENGINE IMAGE KEY}"
suite=bookworm
ca_bundle=/etc/ssl/certs/ca-certificates.crt

say() { printf 'make-base-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot)"
command -v debootstrap > /dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
node_bin="$(command -v node)" || die "node is not on PATH"
case "$("$node_bin" --version)" in v20.*) ;; *) die "the host's node is $("$node_bin" --version); the image must carry Node 20" ;; esac
npm_dir="$(npm root -g)/npm"
[ -f "$npm_dir/bin/npm-cli.js" ] || die "npm is not at $npm_dir"
[ -s "$ca_bundle" ] || die "no CA bundle at $ca_bundle"

# The first mirror that the machine's apt sources use for this suite: deb822 stanzas
# (*.sources) first, then one-line entries (*.list).
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(cat /etc/apt/sources.list.d/*.sources 2> /dev/null \
    | awk -v RS= -v suite="$suite" '
        /(^|\n)Suites:([^\n]* )?'"$suite"'( |\n|$)/ && !/(^|\n)Enabled: *no/ {
          if (match($0, /(^|\n)URIs: *[^ \n]+/)) { s = substr($0, RSTART, RLENGTH); sub(/.*URIs: */, "", s); print s; exit }
        }')"
fi
if [ -z "$mirror" ]; then
  mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null \
    | awk -v suite="$suite" '{ sub(/\[[^]]*\] */, ""); if ($1 == "deb" && $3 == suite) { print $2; exit } }')"
fi
[ -n "$mirror" ] || die "no $suite mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR"

root_dir="$(mktemp -d "${TMPDIR:-/var/tmp}/wf-base-image.XXXXXX")"
log="$root_dir.log"
trap 'rm -rf "$root_dir" "$log"' EXIT

say "debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$root_dir" "$mirror" > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "debootstrap failed"; }

say "adding node $("$node_bin" --version), npm $(npm --version), the CA bundle and the node user"
install -D -m 0755 "$node_bin" "$root_dir/usr/local/bin/node"
mkdir -p "$root_dir/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root_dir/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root_dir/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root_dir/usr/local/bin/npx"
install -D -m 0644 "$ca_bundle" "$root_dir$ca_bundle"
chroot "$root_dir" groupadd --gid 1000 node
chroot "$root_dir" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$root_dir" /usr/local/bin/node --version > /dev/null || die "node does not run inside the new root"
# What the image does not need: downloaded packages and package lists (apt-get update refills them).
rm -rf "$root_dir"/var/cache/apt/archives/*.deb "$root_dir"/var/lib/apt/lists/*

say "importing as $image"
tar -C "$root_dir" --numeric-owner -cf - . | "$engine" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_EXTRA_CA_CERTS=$ca_bundle" \
  --change "LABEL workflow-automation.base-image=$key" \
  --change 'CMD ["node"]' \
  - "$image" > "$log" 2>&1 || { tail -n 30 "$log" >&2; die "$engine import failed"; }
