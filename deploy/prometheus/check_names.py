#!/usr/bin/env python3
"""check_names.py — every sitemail_* metric that the alert rules and the Grafana dashboard
query is one sitemaild exports (server/daemon/metrics.cpp), and the dashboard is valid JSON.
Usage: check_names.py SOURCE_DIR   (ctest entry prometheus_names; exit 1 on a problem)."""
import json, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else "."
src = open(f"{root}/server/daemon/metrics.cpp").read()
exported = set(re.findall(r"# TYPE (sitemail_\w+) (\w+)", src))
names = set()
for n, typ in exported:
    names.add(n)
    if typ == "histogram":
        names |= {n + "_bucket", n + "_sum", n + "_count"}
problems = []
dash = json.load(open(f"{root}/deploy/prometheus/grafana-dashboard.json"))
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
if not exprs: problems.append("grafana-dashboard.json: no panel queries")
rules = open(f"{root}/deploy/prometheus/sitemail.rules.yml").read()
for where, text in [("grafana-dashboard.json", "\n".join(exprs)), ("sitemail.rules.yml", rules)]:
    for m in sorted(set(re.findall(r"\bsitemail_[a-z_]+\b", text))):
        if m not in names:
            problems.append(f"{where}: {m} is not a metric of server/daemon/metrics.cpp")
for p in problems: print(p)
print(f"checked {len(exprs)} dashboard queries and the rules against {len(exported)} metrics")
sys.exit(1 if problems else 0)
