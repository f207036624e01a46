#!/bin/sh
# Runs a command headless with a real Secret Service: a private D-Bus session and an unlocked
# throwaway gnome-keyring in a temporary HOME, so tests never touch the user's real keyring.
# If a Secret Service is already reachable (a desktop session), it is still isolated: we always
# start our own bus so the real keyring is never used.
set -eu
export QT_QPA_PLATFORM=offscreen
scratch=$(mktemp -d "${TMPDIR:-/tmp}/streamdesk-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
export STREAMDESK_TEST_REAL_HOME="${HOME:-}"
export HOME="$scratch/home" XDG_RUNTIME_DIR="$scratch/run" XDG_DATA_HOME="$scratch/home/.local/share"
export XDG_CONFIG_HOME="$scratch/home/.config" XDG_CACHE_HOME="$scratch/home/.cache"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if ! command -v dbus-run-session >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
  echo "with-keyring: dbus-run-session or gnome-keyring-daemon missing; keychain tests will be skipped" >&2
  exec "$@"
fi
exec dbus-run-session -- sh -c '
  printf %s "throwaway-test-pass" | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
  daemon=$!
  # Wait until the Secret Service name is on the bus (no fixed sleep).
  i=0
  until dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; do
    i=$((i+1)); [ $i -gt 200 ] && { echo "with-keyring: Secret Service did not start" >&2; break; }
    sleep 0.05
  done
  "$@"; rc=$?
  kill $daemon 2>/dev/null; wait $daemon 2>/dev/null
  exit $rc' sh "$@"
