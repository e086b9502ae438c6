#!/usr/bin/env bash
# Headless Chromium and ChromeDriver for the browser tests of the search page
# (tests/integration/web_page.rs), from Debian's packages.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
fix="apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver"
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "tests/setup/chromium.sh: chromium and chromedriver are missing; as root run: $fix" >&2
    exit 1
  fi
fi
echo "tests/setup/chromium.sh: installing chromium and chromium-driver from Debian's packages"
if ! { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium chromium-driver; }; then
  echo "tests/setup/chromium.sh: could not install them; run: $fix" >&2
  exit 1
fi
chromium --version
chromedriver --version
