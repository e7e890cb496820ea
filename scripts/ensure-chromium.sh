#!/usr/bin/env bash
# The paywall's browser test (test/e2e/paywall-browser.test.ts) drives Debian's Chromium through playwright-core
# (no browser download: this network reaches only the npm registry and Debian's mirrors). The test command
# installs it when it is missing; where it truly cannot, it says why and the browser test skips, saying so too.
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
say() { echo "ensure-chromium: $*" >&2; }
if ! command -v apt-get >/dev/null 2>&1; then say "no apt-get on this machine: install Chromium by hand (CHROMIUM_PATH) or the browser test is skipped"; exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else say "not root and no password-less sudo: the browser test is skipped"; exit 0; fi
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
say "installing Debian's chromium (once per machine)…"
if $SUDO apt-get install -y --no-install-recommends chromium >"$log" 2>&1 || { $SUDO apt-get update -q >>"$log" 2>&1 && $SUDO apt-get install -y --no-install-recommends chromium >>"$log" 2>&1; }; then
  say "installed $(chromium --version 2>/dev/null)"
else
  say "could not install chromium (the browser test is skipped); apt said:"; tail -n 5 "$log" >&2
fi
rm -f "$log"
exit 0
