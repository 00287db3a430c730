#!/usr/bin/env bash
# Create the secrets compose.yaml needs, once: docker/secrets/admin_token and db_password (random),
# and an empty smtp_password for compose.production.yaml. Existing files are kept.
# Containers run as uid 10001 and read them through bind mounts: run as root (or with sudo) and
# the files are owned by 10001 with mode 0400; otherwise they are 0444 inside a 0700 folder.
# Your eSeal goes beside them as seal.p12 and seal_password (docker/README.md).
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
make_secret() {  # NAME BYTES (0: empty file)
  local file="$dir/$1"
  [ -e "$file" ] && { echo "kept    $file"; return; }
  if [ "$2" -gt 0 ]; then
    head -c "$2" /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file"
  else
    : > "$file"
  fi
  echo "created $file"
}
make_secret admin_token 32
make_secret db_password 24
make_secret smtp_password 0
for file in "$dir"/*; do
  if [ "$(id -u)" -eq 0 ]; then
    chown 10001:10001 "$file" && chmod 0400 "$file"
  else
    chmod 0444 "$file"
  fi
done
echo "admin token: cat $dir/admin_token"
