#!/usr/bin/env bash
# Makes sure the MariaDB server programs the tests start are on this machine (Debian's mariadb-server package):
# the readiness check of a MySQL source and the target-side session settings are tested against a real server.
# Installs only when `mariadbd` is missing; it never starts the system service (the tests start their own
# instances on temporary data directories and stop them).
set -euo pipefail

if command -v mariadbd > /dev/null || [ -x /usr/sbin/mariadbd ]; then
  exit 0
fi
if ! command -v apt-get > /dev/null; then
  echo "mariadb-server: mariadbd is missing and this machine has no apt-get; install MariaDB 10.11 (mariadbd, mariadb-install-db, mariadb-admin)." >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "mariadb-server: mariadbd is missing; run as root (or install the mariadb-server package yourself)." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d answering 101 keeps the package's post-install script from starting the system service.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=true
fi
trap '[ "$created_policy" = true ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends mariadb-server > /dev/null
echo "mariadb-server: installed $(/usr/sbin/mariadbd --version)"
