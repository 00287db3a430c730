#!/usr/bin/env bash
# Install the Debian packages the project needs, only when they are missing: those the test suite drives
# for real (SoftHSM2, xmlsec1, php-cli, Chromium), and those the learner's documents need (WeasyPrint's
# Pango/HarfBuzz/fontconfig, the DejaVu fonts the certificate is set in, poppler's pdftoppm).
# docker.io (the engine), docker-compose and debootstrap build and run docker/ in tests/docker/;
# their services are never started here: the tests run a dockerd of their own
# (--iptables=false --ip6tables=false --ip-forward=false --bridge=none) and stop it by its PID.
set -euo pipefail
need=()
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v php >/dev/null 2>&1 || need+=(php-cli)
# The plugin's shared rules use mbstring (as Moodle requires it); tests run them with php-cli.
{ command -v php >/dev/null 2>&1 && php -m | grep -qi '^mbstring$'; } || need+=(php-mbstring)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v fc-match >/dev/null 2>&1 || need+=(fontconfig)
for package in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need+=("$package")
done
[ -x /usr/sbin/dockerd ] || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Packages must not start services (docker.io's would start a dockerd with a bridge and firewall
  # rules): policy-rc.d answers "not allowed" for the duration of the install; one already in place is
  # set aside and put back afterwards.
  policy=/usr/sbin/policy-rc.d
  if [ -e "$policy" ]; then
    $SUDO mv "$policy" "$policy.edc-bridge-saved"
    trap '$SUDO mv -f "$policy.edc-bridge-saved" "$policy"' EXIT
  else
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 0755 "$policy"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
