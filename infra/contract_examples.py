"""Every example in openapi.yaml conforms to its schema, and every link names an operation and
parameters it has (run by infra/contract.sh before the passes; schemathesis sends the request
examples but checks neither the response examples nor the links' targets).

    contract_examples.py OPENAPI"""

import copy
import sys

import jsonschema_rs
import yaml

doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
METHODS = ("get", "put", "post", "delete", "patch")


def to_json_schema(node):
    """OpenAPI 3.0 schema to JSON Schema: `nullable: true` becomes a `null` alternative."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example", "discriminator")}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


components = to_json_schema(copy.deepcopy(doc.get("components", {})))


def check(schema, value, where):
    root = {"components": components, **to_json_schema(schema)}
    validator = jsonschema_rs.Draft4Validator(root, validate_formats=True)
    return [f"{where}: {e.message} at /{'/'.join(map(str, e.instance_path))}" for e in validator.iter_errors(value)]


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for key in node["$ref"].lstrip("#/").split("/"):
            target = target[key]
        node = target
    return node


errors, counts = [], {"request": 0, "response": 0, "link": 0}
operations = {op["operationId"]: (method, path, op)
              for path, item in doc["paths"].items() for method, op in item.items() if method in METHODS}
for op_id, (method, path, op) in operations.items():
    name = f"{op_id} ({method.upper()} {path})"
    body = resolve(op.get("requestBody", {})).get("content", {}).get("application/json")
    if body is not None:
        if "example" not in body:
            errors.append(f"{name}: the request body has no example")
        else:
            counts["request"] += 1
            errors += check(body["schema"], body["example"], f"{name} request example")
    for status, response in op["responses"].items():
        response = resolve(response)
        media = response.get("content", {})
        # A success may be an image (the ticket QR codes): its example is checked like any other.
        images = [v for k, v in media.items() if k.startswith("image/")]
        content = media.get("application/json", images[0] if len(images) == 1 else {})
        if str(status).startswith("2"):
            if "example" not in content:
                errors.append(f"{name} {status}: no response example")
            else:
                counts["response"] += 1
                errors += check(content["schema"], content["example"], f"{name} {status} example")
        for link_name, link in response.get("links", {}).items():
            counts["link"] += 1
            target = operations.get(link.get("operationId"))
            if target is None:
                errors.append(f"{name} link {link_name}: no operation {link.get('operationId')}")
                continue
            params = {p["name"] for p in map(resolve, target[2].get("parameters", []))}
            for param in link.get("parameters", {}):
                if param.split(".")[-1] not in params:
                    errors.append(f"{name} link {link_name}: {link['operationId']} has no parameter {param}")
for e in errors:
    print(f"[contract] openapi.yaml: {e}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"[contract] openapi.yaml: {counts['request']} request and {counts['response']} response examples conform to "
      f"their schemas; {counts['link']} links name real operations and parameters", file=sys.stderr)
