"""What the handlers answered in one pass of infra/contract.sh, per operation of openapi.yaml, from
the gateway's request log (the `request done` lines between two byte offsets). With --require-2xx
it exits 1, naming them, when an operation never answered 2xx (or was never called).

    contract_summary.py OPENAPI GATEWAY_LOG START END LABEL [--require-2xx]"""

import collections
import json
import re
import sys

import yaml

openapi, log, start, end, label = sys.argv[1:6]
require = "--require-2xx" in sys.argv[6:]
paths = yaml.safe_load(open(openapi, encoding="utf-8"))["paths"]
templates = [
    (m.upper(), p, item[m].get("operationId", ""), re.compile("^" + re.sub(r"\{[^}/]+\}", "[^/]+", p) + "$"))
    for p, item in paths.items()
    for m in item
    if m in ("get", "put", "post", "delete", "patch")
]
seen = collections.defaultdict(collections.Counter)
with open(log, "rb") as f:
    f.seek(int(start))
    chunk = f.read(int(end) - int(start)).decode("utf-8", errors="replace")
for line in chunk.splitlines():
    if '"request done"' not in line:
        continue
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    span = rec.get("span", {})
    method, path = span.get("method"), span.get("path", "")
    name = next((f"{m} {p}" for m, p, _, rx in templates if m == method and rx.match(path)), "(unrouted)")
    seen[name][rec.get("status")] += 1

print(f"[contract] {label}: answers per operation (status x count):")
missing = []
for method, path, op, _ in sorted(templates, key=lambda t: (t[1], t[0])):
    name = f"{method} {path}"
    statuses = seen.get(name, collections.Counter())
    ok = any(200 <= int(s) < 300 for s in statuses if s is not None)
    if not ok:
        missing.append(op or name)
    counts = " ".join(f"{s}x{n}" for s, n in sorted(statuses.items(), key=lambda i: str(i[0]))) or "(never called)"
    flag = "" if ok or not require else "   <- no 2xx"
    print(f"  {op:<18} {name:<58} {counts}{flag}")
if seen.get("(unrouted)"):
    counts = " ".join(f"{s}x{n}" for s, n in sorted(seen["(unrouted)"].items(), key=lambda i: str(i[0])))
    print(f"  {'':<18} {'(unrouted)':<58} {counts}")
if require and missing:
    print(f"[contract] {label}: FAILED: {len(missing)} operation(s) never answered 2xx: {', '.join(missing)}")
    sys.exit(1)
if require:
    print(f"[contract] {label}: every one of the {len(templates)} operations answered 2xx at least once")
