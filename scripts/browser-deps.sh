#!/bin/sh
# Installs what the browser test (tests/integration/test_browser.py) needs:
# Debian's chromium, Node.js with npm, and playwright-core in tests/browser
# (pinned by its package-lock.json).  Quiet and quick when all are present.
# Never downloads a browser build of its own (no `npx playwright install`):
# playwright-core drives Debian's /usr/bin/chromium.
set -e
cd "$(dirname "$0")/.."
extra=""
[ -x /usr/bin/chromium ] || extra="$extra chromium"
# Node.js: any node >= 20 (playwright-core 1.65) on PATH will do (a NodeSource nodejs already brings
# its own npm, and Debian's npm package would conflict with it).
command -v node >/dev/null 2>&1 || extra="$extra nodejs"
command -v npm >/dev/null 2>&1 || extra="$extra npm"
if [ -n "$extra" ]; then
    sh scripts/deps.sh $extra
fi
cd tests/browser
if [ ! -f node_modules/playwright-core/package.json ]; then
    echo "browser-deps: npm ci in tests/browser"
    npm ci --no-audit --no-fund --loglevel=error
fi
