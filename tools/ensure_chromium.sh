#!/usr/bin/env bash
# `make test` runs this first. The browser tests drive Debian's Chromium (never a browser download):
# install it when this machine allows (root or passwordless sudo, and apt-get); otherwise say loudly
# that those tests will be skipped. Under CI=true a browser that cannot be had is an error.
#   DESCENTLAB_CHROMIUM=/path   the browser the tests use (default /usr/bin/chromium)
#   NO_BROWSER_INSTALL=1        never install anything (the browser tests skip if it is missing)
set -uo pipefail
chromium="${DESCENTLAB_CHROMIUM:-/usr/bin/chromium}"
ci="$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]')"
[ -x "$chromium" ] && exit 0

why=""
if [ "${NO_BROWSER_INSTALL:-}" = 1 ]; then
  why="NO_BROWSER_INSTALL=1"
elif ! command -v apt-get >/dev/null 2>&1; then
  why="no apt-get on this machine"
else
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      why="installing needs root or passwordless sudo"
    fi
  fi
  if [ -z "$why" ]; then
    echo "make test: installing Debian's chromium for the browser tests (apt-get install chromium) ..."
    if $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; then
      [ -x "$chromium" ] && exit 0
      why="apt-get installed chromium, but not at $chromium"
    else
      why="apt-get install chromium failed"
    fi
  fi
fi

cat >&2 <<MSG
********************************************************************************
  make test: no Chromium at $chromium ($why).
  The browser tests (tests/test_web_browser.py) will be SKIPPED on this machine.
  To run them: sudo apt-get install chromium   (Debian's package; nothing is downloaded otherwise)
********************************************************************************
MSG
if [ "$ci" = true ] || [ "$ci" = 1 ] || [ "$ci" = yes ]; then
  echo "make test: CI=true, so a missing browser is an error" >&2
  exit 1
fi
exit 0
