#!/usr/bin/env bash
# Installs @confluentinc/kafka-javascript (pinned in package-lock.json) and builds its native
# addon from source against the librdkafka 2.15.1 it bundles: the package would otherwise
# download a prebuilt binary. Node's headers come from the installed nodejs (--nodedir=/usr),
# so node-gyp downloads nothing. Incremental: a finished build is reused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
addon=node_modules/@confluentinc/kafka-javascript
if [ -f "$addon/build/Release/confluent-kafka-javascript.node" ] && [ -f "$addon/.sluice-built" ]; then
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
node_gyp=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js
# CKJS_LINKING=dynamic: the bundled librdkafka is configured with Debian's libraries instead of
# downloading its own. One job: the addon's gyp files race configure against make otherwise.
(cd "$addon" && CKJS_LINKING=dynamic node "$node_gyp" rebuild --nodedir=/usr -j 1 >"$here/node-gyp.log" 2>&1) ||
  { tail -30 "$here/node-gyp.log" >&2; exit 1; }
touch "$addon/.sluice-built"
