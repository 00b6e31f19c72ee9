#!/usr/bin/env bash
# Slow system tests: boot Debian bookworm with systemd as PID 1 in a container and drive the real
# service there (tests/system). Needs root (systemd-nspawn, overlay mounts).
#
#   sudo scripts/test_system.sh [pytest args...]
#
# What it does, every step bounded in time:
#   1. installs systemd-container and debootstrap with apt-get when they are missing;
#   2. builds a minimal bookworm root with debootstrap once and keeps it in the cache
#      ($EDGEPOSE_CACHE_DIR or ~/.cache/edgepose, under systemd-root/); the folder name carries a
#      hash of the recipe below, so changing the recipe builds a new root;
#   3. boots a throw-away overlay of that root (the cached root is never written) with a copy of
#      this checkout in /src/edgepose and the media folder read-only in /srv/media;
#   4. runs tests/system with pytest on this machine; the tests reach into the container with
#      nsenter (systemctl, journalctl, install.sh) and talk to the daemon over the shared network;
#   5. always powers the container off and removes the overlay, whatever happened.
#
# scripts/test.sh (the fast suite) sets up .venv first; .ci/run calls both.
# Environment: EDGEPOSE_SYSTEM_TIMEOUT_S (default 900) bounds the pytest run;
# EDGEPOSE_PYTHON (default .venv/bin/python of this checkout) runs pytest.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${EDGEPOSE_CACHE_DIR:-$HOME/.cache/edgepose}
ROOT_CACHE=$CACHE/systemd-root
MEDIA=$CACHE/media
TIMEOUT_S=${EDGEPOSE_SYSTEM_TIMEOUT_S:-900}
PYTHON=${EDGEPOSE_PYTHON:-$REPO/.venv/bin/python}
if [ ! -x "$PYTHON" ]; then
  bash "$REPO/scripts/setup_dev.sh"
  PYTHON=$REPO/.venv/bin/python
fi

# The recipe of the cached root. The packages that scripts/install.sh would fetch with apt-get are
# included so that a run does not download them again (install.sh then reports them installed);
# ca-certificates lets pip inside reach PyPI.
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
INSTALL_APT=$(sed -n 's/^APT_PACKAGES=(\(.*\))$/\1/p' "$REPO/scripts/install.sh" | tr ' ' ',')
PACKAGES="systemd,systemd-sysv,dbus,python3,python3-venv,ca-certificates,procps,$INSTALL_APT"
RECIPE="1 $SUITE $MIRROR minbase $PACKAGES"
ROOT=$ROOT_CACHE/root-$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)

note() { echo "test_system.sh: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  note "needs root (systemd-nspawn, mount): sudo $0"
  exit 77
fi

need_host_tools() {
  local missing=()
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v mosquitto >/dev/null || missing+=(mosquitto)
  if [ ${#missing[@]} -gt 0 ]; then
    note "installing ${missing[*]}"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

build_root() {
  if [ -x "$ROOT/usr/lib/systemd/systemd" ] && [ -e "$ROOT/.edgepose-root-complete" ]; then
    return
  fi
  note "building the container root $ROOT (debootstrap, a few minutes; cached afterwards)"
  mkdir -p "$ROOT_CACHE"
  local tmp=$ROOT.partial
  rm -rf "$tmp"
  timeout 1200 debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp" "$MIRROR"
  # A machine id and no getty: the console is read-only and nobody logs in.
  rm -f "$tmp/etc/machine-id"
  systemd-machine-id-setup --root="$tmp" >/dev/null
  ln -sf /dev/null "$tmp/etc/systemd/system/console-getty.service"
  ln -sf /dev/null "$tmp/etc/systemd/system/getty@.service"
  ln -sf /dev/null "$tmp/etc/systemd/system/systemd-timesyncd.service"
  echo "$RECIPE" >"$tmp/.edgepose-root-complete"
  # Older roots were built from another recipe: drop them.
  find "$ROOT_CACHE" -mindepth 1 -maxdepth 1 -name 'root-*' ! -name "$(basename "$ROOT")" \
    ! -name '*.partial' -exec rm -rf {} +
  mv "$tmp" "$ROOT"
}

RUN=""
NSPAWN_PID=""
LEADER=""

cleanup() {
  local rc=$?
  set +e
  if [ -n "$LEADER" ] && kill -0 "$LEADER" 2>/dev/null; then
    timeout 20 nsenter -t "$LEADER" -m -u -i -p -r -w systemctl poweroff >/dev/null 2>&1
  fi
  if [ -n "$NSPAWN_PID" ]; then
    for _ in $(seq 1 60); do
      kill -0 "$NSPAWN_PID" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$NSPAWN_PID" 2>/dev/null; then
      note "container did not power off in 30 s: killing it"
      kill -KILL "$NSPAWN_PID" 2>/dev/null
      wait "$NSPAWN_PID" 2>/dev/null
    fi
  fi
  if [ -n "$RUN" ]; then
    mountpoint -q "$RUN/merged" && umount -l "$RUN/merged"
    rm -rf "$RUN"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

boot() {
  RUN=$(mktemp -d "$ROOT_CACHE/run.XXXXXX")
  mkdir -p "$RUN/upper" "$RUN/work" "$RUN/merged" "$ROOT_CACHE/pip-cache"
  mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$RUN/upper,workdir=$RUN/work" "$RUN/merged"
  # A copy of the checkout (tracked and new files, not ignored ones), as a user would clone it.
  mkdir -p "$RUN/merged/src/edgepose" "$RUN/merged/srv/media"
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' |
    tar --null -T - -cf -) | tar -xf - -C "$RUN/merged/src/edgepose"
  # The same CA bundle as this machine, so that pip inside trusts what pip outside trusts.
  cp /etc/ssl/certs/ca-certificates.crt "$RUN/merged/etc/ssl/certs/ca-certificates.crt"
  systemd-nspawn -q -D "$RUN/merged" -b --register=no --keep-unit --console=read-only \
    --machine="edgepose-test-$$" \
    --bind-ro="$MEDIA:/srv/media" \
    --bind="$ROOT_CACHE/pip-cache:/root/.cache/pip" \
    >"$RUN/console.log" 2>&1 &
  NSPAWN_PID=$!
  # The container's PID 1 is the child of systemd-nspawn that lives in a PID namespace of its own:
  # nspawn first forks a helper child that exits once PID 1 runs, so the first child seen may be
  # that helper.
  local host_ns
  host_ns=$(readlink /proc/self/ns/pid)
  LEADER=""
  for _ in $(seq 1 100); do
    for child in $(pgrep -P "$NSPAWN_PID" || true); do
      if [ "$(readlink "/proc/$child/ns/pid" 2>/dev/null || true)" != "$host_ns" ]; then
        LEADER=$child
      fi
    done
    [ -n "$LEADER" ] && break
    sleep 0.2
  done
  if [ -z "$LEADER" ]; then
    note "systemd-nspawn started no container"
    cat "$RUN/console.log" >&2
    exit 1
  fi
  local state=""
  for _ in $(seq 1 120); do
    state=$(nsenter -t "$LEADER" -m -u -i -p -r -w systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    kill -0 "$LEADER" 2>/dev/null || break
    sleep 0.5
  done
  if ! kill -0 "$LEADER" 2>/dev/null; then
    note "the container stopped while booting; its console:"
    tail -n 40 "$RUN/console.log" >&2
    return 1
  fi
  note "container booted (PID 1 is $LEADER on this machine, system state: ${state:-unknown})"
}

need_host_tools
build_root
if ! boot; then
  # A container that went away while booting is booted once more, in a fresh overlay, before the
  # system tests count as failed.
  kill -KILL "$NSPAWN_PID" 2>/dev/null || true
  wait "$NSPAWN_PID" 2>/dev/null || true
  mountpoint -q "$RUN/merged" && umount -l "$RUN/merged"
  rm -rf "$RUN"
  note "booting again"
  boot || exit 1
fi
cd "$REPO"
PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH} EDGEPOSE_SYSTEM_LEADER=$LEADER EDGEPOSE_SYSTEM_ROOT=$RUN/merged \
  timeout --kill-after=30 "$TIMEOUT_S" "$PYTHON" -m pytest -q -ra -p no:cacheprovider \
  tests/system "$@"
