#!/usr/bin/env bash
# Lints the Helm chart and checks that what it renders is right: remora accepts the config it
# generates, and the pod has the probes, drain budget and scrape annotations it should.
set -euo pipefail
remora=$1
helm=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
chart=$root/helm/remora
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$helm" lint --strict "$chart"

# render NAME [helm template args...]: renders the chart, extracts and validates remora.yaml.
render() {
  local name=$1
  shift
  "$helm" template test "$chart" "$@" >"$tmp/$name.yaml"
  awk '/^  remora.yaml: \|/ {inside = 1; next}
       inside && /^    / {sub(/^    /, ""); print; next}
       inside && !/^$/ {inside = 0}' "$tmp/$name.yaml" >"$tmp/$name-remora.yaml"
  [ -s "$tmp/$name-remora.yaml" ] || fail "$name: no remora.yaml in the rendered ConfigMap"
  "$remora" validate "$tmp/$name-remora.yaml" || fail "$name: remora rejects the rendered config"
}

render defaults
rendered=$tmp/defaults.yaml
grep -q 'prometheus.io/scrape: "true"' "$rendered" || fail "no scrape annotation"
grep -q 'prometheus.io/port: "9901"' "$rendered" || fail "no scrape port annotation"
grep -q 'path: /ready' "$rendered" || fail "no readiness probe on /ready"
grep -q 'terminationGracePeriodSeconds: 50' "$rendered" || fail "grace period is not drain + 15s"
grep -q 'drain_delay: 5s, drain_timeout: 30s' "$tmp/defaults-remora.yaml" || fail "drain settings"
grep -q 'targetPort: inbound' "$rendered" || fail "the Service does not go through remora"

render outbound -f "$root/test/helm/values-outbound.yaml"
grep -q 'name: outbound' "$tmp/outbound-remora.yaml" || fail "no outbound listener"
grep -q 'name: users' "$tmp/outbound-remora.yaml" || fail "no users cluster"

render no-metrics --set metrics.scrape=false --set remora.accessLog=false
if grep -q 'prometheus.io/scrape' "$tmp/no-metrics.yaml"; then fail "scrape annotation not removed"; fi
if grep -q 'access_log' "$tmp/no-metrics-remora.yaml"; then fail "access log not removed"; fi

render registry -f "$root/test/helm/values-registry.yaml"
grep -q 'address: http://${HOST_IP:-127.0.0.1}:8500' "$tmp/registry-remora.yaml" || fail "no consul registry"
grep -q 'name: orders' "$tmp/registry-remora.yaml" || fail "no service registration"
grep -q 'port: 15006' "$tmp/registry-remora.yaml" || fail "the registered port is not the inbound one"
grep -q 'app: 127.0.0.1:8080' "$tmp/registry-remora.yaml" || fail "the app is not health-checked"
grep -q 'fieldPath: status.hostIP' "$tmp/registry.yaml" || fail "no HOST_IP for the node's agent"

echo "1 passed, 0 failed"
