#!/usr/bin/env bash
# What `pnpm test` needs from the machine, installed with apt when missing (as root, else sudo);
# a machine that has it all is left untouched. `--dry-run` prints what would be installed and
# installs nothing.
#
# To add a need: one line in PACKAGES ("check|package": the check, a shell command that succeeds
# when the machine already has it, may hold pipes; the package is what follows the last "|"), or
# in BACKPORTS for a package wanted from bookworm-backports.
set -euo pipefail

PACKAGES=(
  # Debian's chromium: the browser of the end-to-end tests; its SwiftShader Vulkan driver is the
  # WebGPU adapter of the Node GPU tests.
  'chromium --version|chromium'
  # The Vulkan loader Dawn opens.
  '/sbin/ldconfig -p | grep -q libvulkan.so.1|libvulkan1'
  # xz: the compression floor of the model evaluation tests.
  'xz --version|xz-utils'
  # PostgreSQL 15: the postgres+s3 test project starts a throwaway cluster with its initdb and
  # pg_ctl (relay/test/global-setup.ts); its S3 server, s3rver, is an npm dev dependency.
  'test -x /usr/lib/postgresql/15/bin/initdb|postgresql'
)

BACKPORTS=(
  # Mesa 25's lavapipe Vulkan driver with shader-f16, the adapter of the engine's f16 tests (Dawn
  # refuses Debian 12's own Mesa 22). It upgrades libdrm and Mesa's GL libraries alongside and
  # removes nothing.
  "dpkg-query -W -f '\${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]\\.'|mesa-vulkan-drivers"
)

DRY_RUN=0
[ "${1:-}" = "--dry-run" ] && DRY_RUN=1

# The packages of `list` whose check fails.
missing() {
  local entry
  for entry in "$@"; do
    bash -c "${entry%|*}" >/dev/null 2>&1 || echo "${entry##*|}"
  done
}

mapfile -t NEED < <(missing "${PACKAGES[@]}")
mapfile -t NEED_BACKPORTS < <(missing "${BACKPORTS[@]}")
if [ ${#NEED[@]} -eq 0 ] && [ ${#NEED_BACKPORTS[@]} -eq 0 ]; then
  echo "test-deps: the machine has everything the tests need"
  exit 0
fi

run() {
  if [ "$DRY_RUN" -eq 1 ]; then
    echo "would run: $*"
  else
    "$@"
  fi
}

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
export DEBIAN_FRONTEND=noninteractive
echo "test-deps: missing ${NEED[*]} ${NEED_BACKPORTS[*]}"
if [ ${#NEED_BACKPORTS[@]} -gt 0 ] && [ ! -f /etc/apt/sources.list.d/bookworm-backports.list ]; then
  run "${SUDO[@]}" sh -c "echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list"
fi
run "${SUDO[@]}" apt-get update -qq
[ ${#NEED[@]} -eq 0 ] || run "${SUDO[@]}" apt-get install -y -qq "${NEED[@]}"
[ ${#NEED_BACKPORTS[@]} -eq 0 ] || run "${SUDO[@]}" apt-get install -y -qq -t bookworm-backports "${NEED_BACKPORTS[@]}"
