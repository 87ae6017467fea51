#!/usr/bin/env bash
# Lints the Helm chart and checks what it renders: remora accepts the config it generates, every
# manifest passes Kubernetes' own schemas (1.29 and the newest kubernetes-validate ships), the pod
# has the sidecar mode, probes, drain budget, security and scraping it should, and bad values fail
# with their message.
set -euo pipefail
remora=$1
helm=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
chart=$root/helm/remora
values=$root/test/helm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# has NAME TEXT / lacks NAME TEXT: the rendered NAME.yaml contains TEXT (a fixed string), or not.
has() { grep -qF -- "$2" "$tmp/$1.yaml" || fail "$1: no '$2'"; }
lacks() { if grep -qF -- "$2" "$tmp/$1.yaml"; then fail "$1: unexpected '$2'"; fi; }

"$helm" lint --strict "$chart"

# render NAME [helm template args...]: renders the chart into NAME.yaml, extracts remora.yaml
# into NAME-remora.yaml and has remora validate it, with what the pod's environment would give.
render() {
  local name=$1
  shift
  "$helm" template test "$chart" "$@" >"$tmp/$name.yaml"
  awk '/^  remora.yaml: \|/ {inside = 1; next}
       inside && /^    / {sub(/^    /, ""); print; next}
       inside && !/^$/ {inside = 0}' "$tmp/$name.yaml" >"$tmp/$name-remora.yaml"
  [ -s "$tmp/$name-remora.yaml" ] || fail "$name: no remora.yaml in the rendered ConfigMap"
  POD_IP=10.1.2.3 CONSUL_HTTP_TOKEN=test-token "$remora" validate "$tmp/$name-remora.yaml" ||
    fail "$name: remora rejects the rendered config"
}

# The pod spec's remora container, as a native sidecar (under initContainers) or beside the app.
native() {
  has "$1" 'initContainers:'
  has "$1" 'restartPolicy: Always'
  has "$1" 'startupProbe:'
}
legacy() {
  lacks "$1" 'initContainers:'
  lacks "$1" 'restartPolicy: Always'
}

render defaults
has defaults 'prometheus.io/scrape: "true"'
has defaults 'prometheus.io/port: "15021"'
has defaults 'httpGet: {path: /ready, port: probe}'
has defaults 'httpGet: {path: /healthz, port: probe}'
has defaults '{name: probe, containerPort: 15021}'
lacks defaults 'containerPort: 9901'
has defaults-remora 'admin: {address: "127.0.0.1:9901", probe_address: "${POD_IP}:15021"}'
has defaults 'terminationGracePeriodSeconds: 55'
has defaults 'exec: {command: ["sleep", "5"]}'
has defaults-remora 'drain_delay: 5s, drain_timeout: 30s'
has defaults 'targetPort: inbound'
for setting in 'runAsNonRoot: true' 'runAsUser: 10001' 'readOnlyRootFilesystem: true' \
  'allowPrivilegeEscalation: false' 'capabilities: {drop: [ALL]}' \
  'seccompProfile: {type: RuntimeDefault}' 'memory: 128Mi'; do
  has defaults "$setting"
done

render outbound -f "$values/values-outbound.yaml"
has outbound-remora 'name: outbound'
has outbound-remora 'name: users'

render no-metrics --set metrics.scrape=false --set remora.accessLog=false \
  --set remora.preStopSleepSeconds=0
lacks no-metrics 'prometheus.io/scrape'
lacks no-metrics-remora 'access_log'
lacks no-metrics 'preStop:'
has no-metrics 'terminationGracePeriodSeconds: 50'

# Kubernetes 1.29 runs remora as a native sidecar: the app starts after its startup probe.
render native --kube-version 1.29
native native
has native 'httpGet: {path: /ready, port: probe}'
render native-forced --kube-version 1.28 --set remora.sidecar=native
native native-forced

# Older clusters: a container beside the app, whose entrypoint may wait with `remora await`.
render legacy --kube-version 1.28
legacy legacy
render legacy-forced --kube-version 1.29 --set remora.sidecar=legacy
legacy legacy-forced
render legacy-await --kube-version 1.28 -f "$values/values-legacy-await.yaml"
legacy legacy-await
has legacy-await "- 'remora await --admin 127.0.0.1:9901 --timeout 2m && exec \"\$@\"'"
has legacy-await '- /usr/local/bin/orders'
render native-await --kube-version 1.29 -f "$values/values-legacy-await.yaml"
lacks native-await 'remora await'

render registry --kube-version 1.29 -f "$values/values-registry.yaml"
has registry-remora 'address: http://${HOST_IP:-127.0.0.1}:8500'
has registry-remora 'token: ${CONSUL_HTTP_TOKEN}'
has registry 'valueFrom: {secretKeyRef: {name: consul-acl, key: remora-token}}'
has registry-remora 'name: orders'
has registry-remora 'port: 15006'
has registry-remora 'app: 127.0.0.1:8080'
has registry 'fieldPath: status.hostIP'
# /ready waits for the app, which waits for the startup probe: that one asks /healthz.
native registry
grep -A3 'startupProbe:' "$tmp/registry.yaml" | grep -qF 'path: /healthz' ||
  fail "registry: the startup probe does not ask /healthz"

render etcd --kube-version 1.29 -f "$values/values-etcd.yaml"
has etcd-remora 'ca: /etc/remora-etcd-tls/ca.crt'
has etcd-remora 'cert: /etc/remora-etcd-tls/tls.crt'
has etcd-remora 'key: /etc/remora-etcd-tls/tls.key'
has etcd-remora 'tls_server_name: etcd.infra'
has etcd 'secretName: etcd-client-tls'
has etcd 'kind: ServiceMonitor'
has etcd 'release: prometheus'
has etcd '- port: probe'
has etcd 'kind: PodDisruptionBudget'
has etcd 'grafana_dashboard: "1"'
[ "$(grep -c -- '- alert: Remora' "$tmp/etcd.yaml")" -eq "$(grep -c -- '- alert: Remora' \
  "$chart/files/alerts.yaml")" ] || fail "etcd: the PrometheusRule lacks alerts of files/alerts.yaml"

# Every manifest against Kubernetes' schemas, strictly (no unknown field). The Prometheus
# Operator's kinds are CRDs whose schemas kubernetes-validate does not have: it warns about them,
# and any other warning is a failure.
newest=$(python3 -c 'import kubernetes_validate.utils as u; print(u.latest_version())')
manifests=()
for rendered in "$tmp"/*.yaml; do
  case "$rendered" in *-remora.yaml) ;; *) manifests+=("$rendered") ;; esac
done
python3 -m kubernetes_validate --strict --quiet -k 1.29.0 -k "$newest" "${manifests[@]}" \
  >"$tmp/validate.log" 2>&1 || { cat "$tmp/validate.log"; fail "kubernetes-validate"; }
if grep -v -e 'monitoring.coreos.com/v1' "$tmp/validate.log" | grep -q .; then
  cat "$tmp/validate.log"
  fail "kubernetes-validate skipped a built-in kind"
fi

# rejects WHY MESSAGE [helm template args...]: the values fail to render, saying MESSAGE.
rejects() {
  local why=$1 message=$2
  shift 2
  if "$helm" template test "$chart" "$@" >/dev/null 2>"$tmp/error.txt"; then
    fail "$why: rendered"
  fi
  grep -qF -- "$message" "$tmp/error.txt" || { cat "$tmp/error.txt"; fail "$why: no '$message'"; }
}
rejects "a negative endpoint weight" 'remora.clusters.0.endpoints.0.weight: Must be greater than or equal to 1' \
  --set 'remora.clusters[0].name=users' --set 'remora.clusters[0].endpoints[0].address=10.0.0.1:80' \
  --set 'remora.clusters[0].endpoints[0].weight=-1'
rejects "a negative split weight" 'remora.outboundRoutes.0.split.0.weight: Must be greater than or equal to 0' \
  --set 'remora.outboundRoutes[0].split[0].cluster=users' \
  --set 'remora.outboundRoutes[0].split[0].weight=-5'
rejects "an unknown key" 'remora: Additional property adminport is not allowed' \
  --set remora.adminport=9000
rejects "a port out of range" 'remora.probePort: Must be less than or equal to 65535' \
  --set remora.probePort=70000
rejects "an unknown sidecar mode" 'remora.sidecar: remora.sidecar must be one of the following' \
  --set remora.sidecar=sometimes
rejects "two registries" 'remora.registry: Must have at most 1 properties' \
  --set remora.registry.consul.address=http://a:8500 --set 'remora.registry.etcd.prefix=/s/'
rejects "a token in the ConfigMap" 'remora.registry.consul.token would be in the ConfigMap' \
  --set remora.registry.consul.token=s3cr3t
rejects "a token Secret without Consul" 'remora.consulTokenSecret is set, but remora.registry has no consul' \
  --set remora.consulTokenSecret.name=consul-acl
rejects "etcd TLS without etcd" 'remora.etcdTLSSecret is set, but remora.registry has no etcd' \
  --set remora.etcdTLSSecret.name=etcd-tls
rejects "await without a command" 'app.awaitRemora needs app.command' --set app.awaitRemora=true
rejects "await with a registration" 'app.awaitRemora cannot be used with remora.register.enabled' \
  -f "$values/values-registry.yaml" -f "$values/values-legacy-await.yaml"

echo "1 passed, 0 failed"
