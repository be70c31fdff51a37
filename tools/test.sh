#!/usr/bin/env bash
# tools/test.sh - the whole test suite, as CI runs it (`npm test`): installs what is missing,
# starts the S3 test server (Ceph RGW on 127.0.0.1), builds, type-checks, lints and runs every
# package's tests. Tests that need S3 read its address from $KLOSET_S3_ENV and fail without it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
# Stray AWS settings of the machine must not decide a test.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE \
  AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL || true

eval "$(bash tools/s3-server/start.sh)"
export KLOSET_S3_ENV
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false

status=0
step() { echo "== $*" >&2; "$@" || { echo "== FAILED: $*" >&2; status=1; }; }
step biome check .
nx run-many -t build --output-style=static   # everything below needs the build
step nx run-many -t typecheck --output-style=static
rm -f packages/*/.vitest-results.json
nx run-many -t test --output-style=static --skip-nx-cache || status=$?
node tools/test-summary.mjs || status=1
exit $status
