#!/bin/sh
# Import an OpenMetrics file written for promtool (timestamps in seconds) into VictoriaMetrics
# through /api/v1/import/prometheus (timestamps in milliseconds), as tests/testkit/src/victoria.rs
# does, streamed (a 10,000-host fleet is 4.3 GB of text), then flush so queries see every sample.
#   vm-import.sh FILE.om http://127.0.0.1:8428
set -eu
file=$1 url=$2
mawk '!/^#/ && NF { i = match($0, / [^ ]+$/); printf "%s %.0f\n", substr($0, 1, i - 1), substr($0, i + 1) * 1000 }' "$file" |
  curl -sS --fail -X POST -H 'Content-Type: text/plain' -T - "$url/api/v1/import/prometheus"
curl -sS --fail "$url/internal/force_flush"
