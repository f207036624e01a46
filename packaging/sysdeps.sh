#!/bin/sh
# Installs the Debian/Ubuntu packages Qt (offscreen and Xvfb) and the keychain need.
# As root they are installed with apt-get; otherwise the one command to run is printed.
# `sysdeps.sh bundle` adds what the bundle's build needs: icupkg and a C compiler, with which
# packaging/icu_trim.py cuts ICU's data library from 31 MB to 5 MB.
PKGS="libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0 libxkbcommon0
fonts-dejavu-core xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-util1 libxcb-xkb1 libxkbcommon-x11-0
libx11-xcb1 libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 gnome-keyring dbus
libssl3 ca-certificates fonts-noto-color-emoji fonts-wqy-microhei"
[ "${1:-}" = bundle ] && PKGS="$PKGS icu-devtools gcc"
command -v dpkg-query >/dev/null 2>&1 || { echo "sysdeps: not a Debian system; install Qt's and gnome-keyring's libraries yourself" >&2; exit 0; }
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "sysdeps: installing$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "sysdeps: missing system packages. Run:" >&2
  echo "  sudo apt-get install -y$missing" >&2
  exit 1
fi
