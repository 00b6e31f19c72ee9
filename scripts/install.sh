#!/usr/bin/env bash
# Install edgepose as a systemd service on Raspberry Pi OS bookworm (or Debian bookworm), in one go.
#
#   sudo scripts/install.sh               install or upgrade, enable and (re)start the service
#   sudo scripts/install.sh --uninstall   remove the service and /opt/edgepose; keep config and state
#   sudo scripts/install.sh --uninstall --purge   also remove /etc/edgepose, state, cache and the user
#   sudo scripts/install.sh --coral       also install the EdgeTPU runtime (libedgetpu1-std)
#   scripts/install.sh --dry-run [...]    print every step without changing anything
#
# Idempotent: running it again upgrades the code and never overwrites an edited config (a new
# default is written next to it as edgepose.toml.dist).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/opt/edgepose
CONF_DIR=/etc/edgepose
UNIT_DIR=/etc/systemd/system
STATE_DIR=/var/lib/edgepose
CACHE_DIR=/var/cache/edgepose
SERVICE_USER=edgepose
# Debian packages: venv/pip, sd_notify + journald bindings, and mosquitto_sub/pub for debugging.
APT_PACKAGES=(python3-venv python3-pip python3-systemd mosquitto-clients)
# Only on Raspberry Pi OS (the Raspberry Pi archive has them): the CSI camera stack.
APT_OPTIONAL=(python3-picamera2)
# Groups that own the camera (video), the GPU/ISP buffers (render), a Coral USB (plugdev) and a
# Coral PCIe/M.2 (apex, created by the gasket driver); those that exist are added to the user.
GROUPS_WANTED=(video render plugdev apex)

DRY_RUN=0
UNINSTALL=0
PURGE=0
ENABLE=1
START=1
CORAL=0

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  echo "options: --dry-run --uninstall --purge --coral --prefix DIR --no-enable --no-start"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    --coral) CORAL=1 ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift ;;
    --no-enable) ENABLE=0 ;;
    --no-start) START=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done

if [ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ]; then
  echo "install.sh: --purge only goes with --uninstall" >&2
  exit 64
fi

# Print each step; run it unless this is a dry run.
run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$DRY_RUN" = 0 ]; then
    "$@"
  fi
}

note() {
  echo "install.sh: $*" >&2
}

have_package() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

require_root() {
  if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    note "run as root: sudo $0 $*"
    exit 77
  fi
}

systemctl_ok() {
  # Inside containers and chroots there is no running systemd; the files are still installed.
  [ -d /run/systemd/system ]
}

install_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    have_package "$pkg" || missing+=("$pkg")
  done
  for pkg in "${APT_OPTIONAL[@]}"; do
    if ! have_package "$pkg"; then
      if apt-cache show "$pkg" >/dev/null 2>&1; then
        missing+=("$pkg")
      else
        note "$pkg is not in the apt sources (not Raspberry Pi OS?): the picamera2 source will be unavailable"
      fi
    fi
  done
  if [ "$CORAL" = 1 ] && ! have_package libedgetpu1-std && ! have_package libedgetpu1-max; then
    if apt-cache show libedgetpu1-std >/dev/null 2>&1; then
      missing+=(libedgetpu1-std)
    else
      note "libedgetpu1-std is not in the apt sources: add Coral's repository first" \
        "(https://coral.ai/docs/accelerator/get-started/), then run this again with --coral"
    fi
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "= apt packages already installed"
  fi
}

create_user() {
  if id -u "$SERVICE_USER" >/dev/null 2>&1; then
    echo "= user $SERVICE_USER exists"
  else
    run useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin --comment "edgepose daemon" "$SERVICE_USER"
  fi
  local group
  for group in "${GROUPS_WANTED[@]}"; do
    if getent group "$group" >/dev/null; then
      if id -nG "$SERVICE_USER" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
        echo "= $SERVICE_USER is in group $group"
      else
        run usermod -aG "$group" "$SERVICE_USER"
      fi
    fi
  done
}

install_venv() {
  if [ -x "$PREFIX/bin/python" ]; then
    echo "= virtualenv $PREFIX exists"
  else
    # System site packages: picamera2, libcamera and systemd come from apt, not PyPI.
    run python3 -m venv --system-site-packages "$PREFIX"
  fi
  local constraints="$PREFIX/constraints.txt"
  # picamera2's compiled helpers (simplejpeg) are built against Debian's numpy 1.x: keep pip from
  # shadowing it with numpy 2 inside the venv, which would break `import picamera2`.
  if [ "$DRY_RUN" = 0 ]; then
    if python3 -c 'import numpy, sys; sys.exit(0 if numpy.__version__.startswith("1.") else 1)' 2>/dev/null; then
      echo "numpy<2" >"$constraints"
    else
      : >"$constraints"
    fi
  fi
  echo "+ write $constraints (numpy<2 when the system numpy is 1.x)"
  run "$PREFIX/bin/python" -m pip install --quiet --upgrade pip
  # The http extra (aiohttp, prometheus-client) is always installed: [http] enabled = true in the
  # config is all a kiosk or preview install needs, with no second pip run on the device.
  run "$PREFIX/bin/python" -m pip install --quiet --upgrade --constraint "$constraints" "${REPO}[http]"
  run install -d -m 0755 "$PREFIX/share"
  run install -m 0644 "$REPO/README.md" "$PREFIX/share/README.md"
}

install_config() {
  # systemd creates these too (StateDirectory=, CacheDirectory=); made here so `check` can run first.
  run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR" "$CACHE_DIR"
  run install -d -m 0750 -o root -g "$SERVICE_USER" "$CONF_DIR"
  local target="$CONF_DIR/edgepose.toml"
  if [ -e "$target" ]; then
    if cmp -s "$REPO/config/edgepose.toml" "$target"; then
      echo "= $target is the default"
    else
      echo "= $target was edited: kept; the new default is $target.dist"
      run install -m 0640 -o root -g "$SERVICE_USER" "$REPO/config/edgepose.toml" "$target.dist"
    fi
  else
    run install -m 0640 -o root -g "$SERVICE_USER" "$REPO/config/edgepose.toml" "$target"
  fi
}

install_unit() {
  local unit="$UNIT_DIR/edgepose.service"
  local source_unit="$REPO/systemd/edgepose.service"
  if [ "$PREFIX" != /opt/edgepose ]; then
    if [ "$DRY_RUN" = 0 ]; then
      sed "s#/opt/edgepose#$PREFIX#g" "$REPO/systemd/edgepose.service" >"$unit.tmp"
      chmod 0644 "$unit.tmp"
      mv "$unit.tmp" "$unit"
    fi
    echo "+ install $source_unit $unit (with $PREFIX for /opt/edgepose)"
  else
    run install -m 0644 "$source_unit" "$unit"
  fi
  if systemctl_ok; then
    run systemctl daemon-reload
    if [ "$ENABLE" = 1 ]; then
      run systemctl enable edgepose.service
    fi
  else
    note "systemd is not running here: enable later with 'systemctl enable --now edgepose'"
  fi
}

check_and_start() {
  run runuser -u "$SERVICE_USER" -- env EDGEPOSE_CACHE_DIR="$CACHE_DIR" EDGEPOSE_STATE_DIRECTORY="$STATE_DIR" \
    "$PREFIX/bin/edgepose" check --config "$CONF_DIR/edgepose.toml" || note "some checks failed (see above)"
  if [ "$START" = 1 ] && systemctl_ok; then
    run systemctl restart edgepose.service
    echo "edgepose is running: systemctl status edgepose; journalctl -u edgepose -f"
  fi
}

do_install() {
  require_root "$@"
  install_packages
  create_user
  install_venv
  install_config
  install_unit
  check_and_start
  echo "installed: config $CONF_DIR/edgepose.toml, code $PREFIX, unit $UNIT_DIR/edgepose.service"
}

do_uninstall() {
  require_root "$@"
  if systemctl_ok; then
    run systemctl disable --now edgepose.service || true
  fi
  run rm -f "$UNIT_DIR/edgepose.service"
  if systemctl_ok; then
    run systemctl daemon-reload
  fi
  run rm -rf "$PREFIX"
  if [ "$PURGE" = 1 ]; then
    run rm -rf "$CONF_DIR" "$STATE_DIR" "$CACHE_DIR"
    if id -u "$SERVICE_USER" >/dev/null 2>&1; then
      run userdel "$SERVICE_USER"
    fi
    echo "purged: config, state, cache and the $SERVICE_USER user"
  else
    echo "removed the service; kept $CONF_DIR, $STATE_DIR and the $SERVICE_USER user (--purge removes them)"
  fi
}

if [ "$DRY_RUN" = 1 ]; then
  echo "dry run: nothing is changed"
fi
if [ "$UNINSTALL" = 1 ]; then
  do_uninstall "$@"
else
  do_install "$@"
fi
