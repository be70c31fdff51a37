#!/usr/bin/env bash
# npm run demo: the whole mission on local defaults. Starts the S3 test server (Ceph RGW on
# 127.0.0.1), fills a bucket, backs it up into an encrypted local store with the kloset CLI,
# restores it into a new bucket, and compares the two buckets object by object.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
unset AWS_CA_BUNDLE AWS_PROFILE AWS_DEFAULT_PROFILE || true
eval "$(bash tools/s3-server/start.sh)"
export KLOSET_S3_ENV
NX_DAEMON=false NX_TUI=false nx run-many -t build --output-style=static >/dev/null
node --conditions=kloset-source tools/demo/run.ts "$@"
