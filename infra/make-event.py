#!/usr/bin/env python3
"""Writes an API Gateway HTTP API (payload 2.0) sample event to events/<name>.json.

usage: infra/make-event.py NAME METHOD ROUTE_PATH CONCRETE_PATH [JSON_BODY] [--auth] [--query k=v&...]
The result works with `cargo lambda invoke NAME --data-file events/NAME.json` and `sam local invoke -e`.
"""
import json, sys, pathlib, time

args = [a for a in sys.argv[1:] if not a.startswith("--")]
flags = [a for a in sys.argv[1:] if a.startswith("--")]
name, method, route, path = args[:4]
body = args[4] if len(args) > 4 else None
query = next((f.split("=", 1)[1] for f in flags if f.startswith("--query=")), "")
headers = {"content-type": "application/json", "x-correlation-id": f"sample-{name}", "user-agent": "curl/8"}
if "--auth" in flags:
    headers["authorization"] = "Bearer REPLACE_WITH_accessToken_FROM_POST_/api/v1/auth/login"
params = {}
for t, c in zip(route.split("/"), path.split("/")):
    if t.startswith("{") and t.endswith("}"):
        params[t[1:-1]] = c
route_key = "$default" if route == "$default" else f"{method} {route}"
event = {
    "version": "2.0",
    "routeKey": route_key,
    "rawPath": path,
    "rawQueryString": query,
    "headers": headers,
    "requestContext": {
        "accountId": "000000000000", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "local",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "curl/8"},
        "requestId": f"sample-{name}", "routeKey": route_key, "stage": "$default",
        "time": "22/Nov/2026:12:00:00 +0000", "timeEpoch": 1795348800000,
    },
    "isBase64Encoded": False,
}
if query:
    event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&"))
if params:
    event["pathParameters"] = params
if body is not None:
    event["body"] = body
out = pathlib.Path(__file__).resolve().parent.parent / "events" / f"{name}.json"
out.parent.mkdir(exist_ok=True)
out.write_text(json.dumps(event, indent=2) + "\n")
print(out)
