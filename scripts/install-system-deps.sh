#!/usr/bin/env bash
# Install the Debian packages the project needs, only when they are missing: those the test suite drives
# for real (SoftHSM2, xmlsec1, php-cli, Chromium), and those the learner's documents need (WeasyPrint's
# Pango/HarfBuzz/fontconfig, the DejaVu fonts the certificate is set in, poppler's pdftoppm).
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
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
