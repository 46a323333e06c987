#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests of ./web (chromedp drives
# it headless), unless it is there already. CI sets CI=true, and then those
# tests fail without it rather than skip.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
