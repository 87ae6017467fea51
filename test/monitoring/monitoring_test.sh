#!/usr/bin/env bash
# Checks what the chart ships for Prometheus and Grafana (helm/remora/files/) with promtool: the
# alerting rules parse, their unit tests pass, and every PromQL expression of the dashboard parses.
set -euo pipefail
promtool=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
files=$root/helm/remora/files
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$promtool" check rules "$files/alerts.yaml"
"$promtool" test rules "$root/test/monitoring/alerts_test.yaml"

# The dashboard's expressions as recording rules, so that promtool parses each one. Grafana's
# variables are not PromQL: its interval variables become a range, the others (namespace, cluster:
# used in =~ matchers) a regex matching anything. label_values(SELECTOR, label) checks SELECTOR.
python3 - "$files/dashboard.json" >"$tmp/dashboard-rules.yaml" <<'PY'
import json, re, sys

dashboard = json.load(open(sys.argv[1]))
exprs = []
for panel in dashboard["panels"]:
    for target in panel.get("targets", []):
        exprs.append((f"panel {panel['id']} ({panel['title']}) {target['refId']}", target["expr"]))
for variable in dashboard["templating"]["list"]:
    if variable["type"] == "query":
        selector = re.fullmatch(r"label_values\((.*),\s*\w+\)", variable["definition"])
        if not selector:
            sys.exit(f"variable {variable['name']}: not label_values(selector, label)")
        exprs.append((f"variable {variable['name']}", selector.group(1)))

def substitute(expr):
    expr = re.sub(r"\$(__rate_interval|__interval|__range)\b", "5m", expr)
    expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
    return expr

rules = [{"record": f"dashboard:expr{i}", "expr": substitute(expr), "labels": {"source": where}}
         for i, (where, expr) in enumerate(exprs)]
if not rules:
    sys.exit("no PromQL expression found in the dashboard")
print(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}, indent=1))
PY
"$promtool" check rules "$tmp/dashboard-rules.yaml"

echo "1 passed, 0 failed"
