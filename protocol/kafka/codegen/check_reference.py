#!/usr/bin/env python3
"""Checks our definitions against Kafka's reference schemas, version by version.

  check_reference.py <our schema dir> <reference messages dir>

For every message and every version we define: the API key and flexible versions match, the
version exists in the reference, and the fields present in that version (recursively) agree in
order, name, type, nullability, tag and default. Exits 0 with a note when the reference directory
does not exist (a plain clone has no ../shared).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schema  # noqa: E402


def load_reference(path):
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if not line.lstrip().startswith("//")]
    return json.loads("".join(lines))


def normalize_default(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def reference_field(raw):
    return schema.Field(
        name=raw["name"], type=raw["type"], versions=schema.Versions.parse(raw["versions"]),
        nullable=schema.Versions.parse(raw.get("nullableVersions", "none")),
        tag=raw.get("tag"), tagged=schema.Versions.parse(raw.get("taggedVersions", "none")),
        default=normalize_default(raw.get("default")),
        flexible=schema.Versions.parse(raw["flexibleVersions"]) if "flexibleVersions" in raw else None,
        fields=[reference_field(f) for f in raw.get("fields", [])])


def flatten(fields, common, version, path=""):
    """(path, type, nullable, tag, default, field-level flexible) for fields present in `version`."""
    out = []
    for f in fields:
        if not f.versions.contains(version):
            continue
        where = f"{path}{f.name}"
        flexible = None if f.flexible is None else f.flexible.contains(version)
        tag = f.tag if f.tagged.contains(version) else None
        out.append((where, f.type, f.nullable.contains(version), tag, f.default, flexible))
        children = f.fields or common.get(f.element_type, [])
        out += flatten(children, common, version, where + ".")
    return out


def check_message(ours, ref):
    problems = []
    if ours.api_key != ref.get("apiKey"):
        problems.append(f"api key {ours.api_key} != {ref.get('apiKey')}")
    ref_valid = schema.Versions.parse(ref["validVersions"])
    ref_flexible = schema.Versions.parse(ref["flexibleVersions"])
    ref_fields = [reference_field(f) for f in ref["fields"]]
    ref_common = {c["name"]: [reference_field(f) for f in c["fields"]] for c in ref.get("commonStructs", [])}
    our_common = {c.name: c.fields for c in ours.common}
    for version in ours.versions():
        if not ref_valid.contains(version):
            problems.append(f"v{version} does not exist in the reference")
            continue
        if ours.flexible.contains(version) != ref_flexible.contains(version):
            problems.append(f"v{version}: flexibility differs")
        mine = flatten(ours.fields, our_common, version)
        theirs = flatten(ref_fields, ref_common, version)
        if mine != theirs:
            for a, b in zip(mine + [None] * len(theirs), theirs + [None] * len(mine)):
                if a != b:
                    problems.append(f"v{version}: ours {a} != reference {b}")
                    break
    return problems


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    schema_dir, ref_dir = argv[1], argv[2]
    if not os.path.isdir(ref_dir):
        print(f"SKIPPED: reference schemas not found at {ref_dir}")
        return 0
    failures = 0
    checked = 0
    for name in sorted(os.listdir(schema_dir)):
        if not name.endswith(".msg"):
            continue
        for message in schema.load(os.path.join(schema_dir, name)):
            ref_path = os.path.join(ref_dir, message.name + ".json")
            if not os.path.exists(ref_path):
                print(f"FAIL {message.name}: no reference schema {ref_path}")
                failures += 1
                continue
            problems = check_message(message, load_reference(ref_path))
            checked += len(message.versions())
            for problem in problems:
                print(f"FAIL {message.name}: {problem}")
            failures += len(problems)
    print(f"checked {checked} message versions against {ref_dir}: {failures} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
