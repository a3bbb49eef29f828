#!/usr/bin/env bash
# Fails when the protos do not lint, break the public contract, or when the committed generated
# code differs from what `npm run proto` produces now.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf lint
# The public contract (kv.proto, cluster.proto) may only grow: compare with the first commit.
root=$(git rev-list --max-parents=0 HEAD 2>/dev/null | tail -n 1 || true)
if [ -n "$root" ] && git cat-file -e "$root:proto" 2>/dev/null; then
  npx buf breaking --against ".git#ref=$root" --path proto/ringstore/v1/kv.proto --path proto/ringstore/v1/cluster.proto
fi
npx buf generate
if ! git diff --quiet --exit-code -- packages/proto/src/gen || [ -n "$(git ls-files --others --exclude-standard packages/proto/src/gen)" ]; then
  echo "packages/proto/src/gen is stale: run 'npm run proto' and commit the result." >&2
  git --no-pager diff --stat -- packages/proto/src/gen >&2
  exit 1
fi
echo "proto: lint ok, no breaking change, generated code fresh"
