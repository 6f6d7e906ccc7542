#!/bin/sh
# Installs the pinned browser packages from package-lock.json and copies
# their prebuilt files into vendor/, which is committed so that `go build`
# works without npm. Rerun after changing package.json; CI checks that a
# rebuild leaves vendor/ unchanged.
set -eu
cd "$(dirname "$0")"

# --ignore-scripts: no install hooks run (swagger-ui-dist pulls in an
# analytics package whose hook would phone home).
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

rm -rf vendor
mkdir vendor
copy() { cp "node_modules/$1" "vendor/$2"; }

copy @xterm/xterm/lib/xterm.js xterm.js
copy @xterm/xterm/css/xterm.css xterm.css
copy @xterm/xterm/LICENSE xterm.LICENSE.txt
copy @xterm/addon-fit/lib/addon-fit.js addon-fit.js
copy @xterm/addon-fit/LICENSE addon-fit.LICENSE.txt
copy swagger-ui-dist/swagger-ui-bundle.js swagger-ui-bundle.js
copy swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt swagger-ui-bundle.js.LICENSE.txt
copy swagger-ui-dist/swagger-ui.css swagger-ui.css
copy swagger-ui-dist/LICENSE swagger-ui.LICENSE.txt

# Record which versions the files came from.
node -e '
const lock = require("./package-lock.json");
for (const [path, p] of Object.entries(lock.packages)) {
  if (path.startsWith("node_modules/")) console.log(path.slice(13) + " " + p.version);
}' | sort > vendor/VERSIONS.txt
