#!/usr/bin/env bash
# The end of `make build`: every function (each functions/<name>, as template.yaml's
# PascalCase(<name>)Function) has its artifact .aws-sam/build/<LogicalId>/bootstrap, and it is an
# executable aarch64 ELF (e_machine 183, EM_AARCH64) that runs the function its Handler names.
#   infra/check-artifacts.sh [BUILD_DIR]    (default .aws-sam/build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/.aws-sam/build}
python3 - "$root" "$build" <<'PY'
import os, struct, sys
root, build = sys.argv[1], sys.argv[2]
names = sorted(d for d in os.listdir(os.path.join(root, "functions"))
               if os.path.isfile(os.path.join(root, "functions", d, "Cargo.toml")))
bad, sizes = [], set()
for name in names:
    lid = "".join(w[:1].upper() + w[1:] for w in name.split("-")) + "Function"
    path = os.path.join(build, lid, "bootstrap")
    if not os.path.isfile(path):
        bad.append(f"{lid}: no {path}")
        continue
    with open(path, "rb") as f:
        head = f.read(20)
    # e_ident: magic, EI_CLASS 2 (64-bit), EI_DATA 1 (little-endian); e_type 2/3 (EXEC/DYN); e_machine
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
        bad.append(f"{lid}: {path} is not a 64-bit little-endian ELF file")
        continue
    e_type, e_machine = struct.unpack_from("<HH", head, 16)
    if e_machine != 183 or e_type not in (2, 3):
        bad.append(f"{lid}: {path} is ELF type {e_type}, machine {e_machine}; want an aarch64 executable (183)")
    elif not os.access(path, os.X_OK):
        bad.append(f"{lid}: {path} is not executable")
    else:
        sizes.add(os.path.getsize(path))
if bad:
    print("[build] artifact check failed:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"[build] {len(names)} functions, each with an aarch64 executable bootstrap "
      f"({', '.join(f'{s / 1e6:.1f} MB' for s in sorted(sizes))})")
PY
