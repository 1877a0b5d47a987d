#!/usr/bin/env python3
"""One-off helper: writes our compact definition of one API from Kafka's reference JSON schemas.

Only facts are carried over (names, types, versions, nullability, tags, defaults); descriptions,
comments and Java-only attributes are dropped.

  import_reference.py <reference messages dir> <ApiName> <output .msg file>
  import_reference.py <reference messages dir> --headers <output .msg file>
"""

import json
import sys


def load_reference(path):
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if not line.lstrip().startswith("//")]
    return json.loads("".join(lines))


def default_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '""' if value == "" else value


def field_lines(fields, indent):
    out = []
    for f in fields:
        parts = [f["name"], f["type"], "v=" + f["versions"]]
        if "nullableVersions" in f:
            parts.append("null=" + f["nullableVersions"])
        if "tag" in f:
            parts += ["tag=" + str(f["tag"]), "tagv=" + f["taggedVersions"]]
        if "default" in f:
            parts.append("default=" + default_text(f["default"]))
        if "flexibleVersions" in f:
            parts.append("flex=" + f["flexibleVersions"])
        out.append(" " * indent + " ".join(parts))
        out += field_lines(f.get("fields", []), indent + 2)
    return out


def message_lines(schema):
    head = [schema["type"], schema["name"]]
    if "apiKey" in schema:
        head.append("key=" + str(schema["apiKey"]))
    head += ["versions=" + schema["validVersions"], "flexible=" + schema["flexibleVersions"]]
    out = [" ".join(head)]
    out += field_lines(schema["fields"], 2)
    for common in schema.get("commonStructs", []):
        out.append("  common {} v={}".format(common["name"], common["versions"]))
        out += field_lines(common["fields"], 4)
    return out


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    ref_dir, api, output = argv[1:]
    names = ["RequestHeader", "ResponseHeader"] if api == "--headers" else [api + "Request", api + "Response"]
    lines = []
    for name in names:
        lines += message_lines(load_reference(f"{ref_dir}/{name}.json"))
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv)
