#!/usr/bin/env bash
# Make this Debian 12 PC a counter: the cashier on tty1 from boot (restarted if it ends),
# the card reader's daemon, time synchronisation, the devices' groups, optionally the
# supervisor console. Run as root after the cashier is installed in /opt/cashier
# (the wheelhouse's install.sh). Usage: install-counter.sh [--console]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
console=no
[[ "${1:-}" == --console ]] && console=yes
[[ -x /opt/cashier/venv/bin/cashier ]] || { echo "install the cashier first (wheelhouse/install.sh)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends fbterm fonts-wqy-microhei pcscd systemd-timesyncd libzbar0 >/dev/null

id cashier >/dev/null 2>&1 || useradd --system --create-home --home-dir /home/cashier --shell /usr/sbin/nologin cashier
usermod -aG lp,dialout,plugdev,video,tty cashier
install -d -o cashier -g cashier -m 0700 /var/lib/cashier
install -m 0644 "$here/udev/60-cashier-devices.rules" /etc/udev/rules.d/
udevadm control --reload && udevadm trigger || true
install -m 0644 "$here/systemd/cashier-counter.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now pcscd.socket
timedatectl set-ntp true  # the insurer refuses clocks minutes off; the cashier says so too
systemctl disable getty@tty1.service >/dev/null 2>&1 || true
systemctl enable cashier-counter.service
if [[ "$console" == yes ]]; then
    install -m 0644 "$here/systemd/cashier-console.service" /etc/systemd/system/
    systemctl daemon-reload
    systemctl enable --now cashier-console.service
fi
echo "counter ready: reboot, or: systemctl start cashier-counter"
