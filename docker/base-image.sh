#!/usr/bin/env bash
# Make a slim Debian root file system with debootstrap and write it as a tar that `docker import`
# loads: the BASE_IMAGE of docker/Dockerfile where no image registry can be reached (Debian's
# package archive is enough). Run as root; needs debootstrap.
#
#   docker/base-image.sh OUTPUT.tar [SUITE]        # SUITE: bookworm (default)
#   docker import OUTPUT.tar edc-bridge-base:bookworm
#   docker build --build-arg BASE_IMAGE=edc-bridge-base:bookworm -f docker/Dockerfile .
#
# Like Debian's own -slim images: the minbase variant, no documentation, manual pages or
# translations (dpkg is told to skip them for later installs too), no apt lists or caches.
# DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR override where packages come from. When this host's apt
# is told not to check Release files' validity dates (a frozen snapshot mirror), the image is told
# the same, or apt inside the build would refuse that mirror.
set -euo pipefail

out=${1:?usage: $0 OUTPUT.tar [SUITE]}
suite=${2:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

root=$(mktemp -d "${TMPDIR:-/tmp}/edc-base.XXXXXX")
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase "$suite" "$root" "$mirror" >&2

cat > "$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
# Keep images small: no documentation, manual pages or translations (copyright files stay).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +

rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt-config dump | grep -E '^Acquire::Check-(Valid-Until|Date) ' > "$root/etc/apt/apt.conf.d/50validity" || true
[ -s "$root/etc/apt/apt.conf.d/50validity" ] || rm -f "$root/etc/apt/apt.conf.d/50validity"

chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
       "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.bash_history
: > "$root/etc/machine-id"
echo "edc-bridge-base" > "$root/etc/hostname"

tar --numeric-owner --xattrs -C "$root" \
    --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf "$out.partial" .
mv "$out.partial" "$out"
echo "$out"
