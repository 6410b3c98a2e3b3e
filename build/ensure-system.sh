#!/usr/bin/env bash
# Installs the system (apt) packages rugbyworker's build and tests need, only those missing.
#   bash build/ensure-system.sh              # check / install everything
#   bash build/ensure-system.sh binutils ... # only the named packages
# One line per package; `apt-get update` runs once, and only when something is missing.
# Uses sudo when not root. Exits non-zero, saying what to install, when it cannot.
set -euo pipefail

ALL=(ffmpeg redis-server qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross
     binutils-aarch64-linux-gnu binutils chromium postgresql-15
     buildah debootstrap umoci systemd gcc libc6-dev prometheus yt-dlp)

# Succeeds when the package's files are present (checked by command or file, not dpkg,
# so a tool installed some other way counts too).
present() {
  case "$1" in
    ffmpeg) command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null ;;
    redis-server) command -v redis-server >/dev/null ;;
    qemu-user-static) command -v qemu-aarch64-static >/dev/null ;;
    libc6-arm64-cross) [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] ;;
    # Node's arm64 binary links libstdc++ and libgcc_s; libc6-arm64-cross lacks both.
    libstdc++6-arm64-cross) [ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] \
                              && [ -e /usr/aarch64-linux-gnu/lib/libgcc_s.so.1 ] ;;
    binutils-aarch64-linux-gnu) command -v aarch64-linux-gnu-strip >/dev/null ;;
    binutils) command -v strip >/dev/null ;;
    chromium) command -v chromium >/dev/null || [ -x /usr/bin/chromium ] ;;
    # The migration test runs the SQL in deploy/supabase on a throwaway cluster.
    postgresql-15) [ -x /usr/lib/postgresql/15/bin/postgres ] ;;
    # npm run image (build/image.mjs) and its test, which unpacks the archive with umoci.
    buildah) command -v buildah >/dev/null ;;
    debootstrap) command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] ;;
    umoci) command -v umoci >/dev/null ;;
    # The unit's tests: systemd-analyze verify / security --offline (no running systemd needed).
    systemd) command -v systemd-analyze >/dev/null ;;
    # The unit's seccomp filter, compiled into a small launcher (test/helpers/sandbox.ts).
    gcc) command -v cc >/dev/null ;;
    libc6-dev) [ -e /usr/include/stdio.h ] && [ -e /usr/include/linux/seccomp.h ] ;;
    # The dashboards and rules of deploy/ checked on a real Prometheus, and promtool's rule tests.
    prometheus) command -v prometheus >/dev/null && command -v promtool >/dev/null ;;
    # The stereo ingest downloads with it (stereo-spot b622b25's URL ingest); its tests run Debian's.
    yt-dlp) command -v yt-dlp >/dev/null ;;
    *) echo "ensure-system: unknown package '$1' (known: ${ALL[*]})" >&2; exit 2 ;;
  esac
}

what() {
  case "$1" in
    ffmpeg) echo "ffmpeg, ffprobe" ;;
    redis-server) echo "redis-server" ;;
    qemu-user-static) echo "qemu-aarch64-static" ;;
    libc6-arm64-cross) echo "/usr/aarch64-linux-gnu glibc" ;;
    libstdc++6-arm64-cross) echo "/usr/aarch64-linux-gnu libstdc++" ;;
    binutils-aarch64-linux-gnu) echo "aarch64-linux-gnu-strip" ;;
    binutils) echo "strip" ;;
    chromium) echo "chromium" ;;
    postgresql-15) echo "postgres server binaries" ;;
    buildah) echo "buildah" ;;
    debootstrap) echo "debootstrap" ;;
    umoci) echo "umoci" ;;
    systemd) echo "systemd-analyze" ;;
    gcc) echo "cc" ;;
    libc6-dev) echo "C and Linux headers" ;;
    prometheus) echo "prometheus, promtool" ;;
    yt-dlp) echo "yt-dlp" ;;
  esac
}

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=("${ALL[@]}")

missing=()
for p in "${pkgs[@]}"; do
  if present "$p"; then
    printf '  ok       %-28s %s\n' "$p" "$(what "$p")"
  else
    printf '  missing  %-28s %s\n' "$p" "$(what "$p")"
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

fail() {
  echo "ensure-system: cannot install ${missing[*]}: $1." >&2
  echo "ensure-system: run: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
}

command -v apt-get >/dev/null || fail "apt-get not found (Debian/Ubuntu only)"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "not root and sudo is not installed"
  sudo -n true 2>/dev/null || fail "not root and sudo needs a password"
  SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg (up to 5 minutes) instead of failing on the lock.
APT=("${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
echo "ensure-system: installing ${missing[*]}"
"${APT[@]}" update -qq || fail "apt-get update failed"
"${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || fail "apt-get install failed"

still=()
for p in "${missing[@]}"; do
  if present "$p"; then
    printf '  installed %-27s %s\n' "$p" "$(what "$p")"
  else
    still+=("$p")
  fi
done
if [ ${#still[@]} -gt 0 ]; then
  missing=("${still[@]}")
  fail "installed, but still not found"
fi
