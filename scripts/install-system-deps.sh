#!/usr/bin/env bash
# Install the Debian packages that the test suite drives for real, only when they are missing.
set -euo pipefail
need=()
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v php >/dev/null 2>&1 || need+=(php-cli)
# The plugin's shared rules use mbstring (as Moodle requires it); tests run them with php-cli.
{ command -v php >/dev/null 2>&1 && php -m | grep -qi '^mbstring$'; } || need+=(php-mbstring)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
