#!/usr/bin/env python3
"""Generates C++ codecs from our Kafka message definitions (see schema.py for the format).

  generate.py <schema dir> <output dir>

Writes, for every <api>.msg, <api>.h and <api>.cc (structs with Decode/Encode), plus all.h (every
header, the list of defined APIs and an X-macro over all messages) and samples.h/samples.cc
(test-only: fill every field with a non-default value for a version). Files are rewritten only
when their content changes, so an unchanged definition does not trigger recompilation.
"""

import keyword
import os
import re
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schema  # noqa: E402

CPP_KEYWORDS = {"default", "delete", "new", "operator", "template", "class", "register", "private",
                "public", "protected", "namespace", "union", "struct", "switch", "case", "this",
                "static", "virtual", "friend", "typename", "auto", "int", "long", "short", "char",
                "bool", "int8_t", "int16_t", "int32_t", "int64_t"}
SCALAR_CPP = {"bool": "bool", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t",
              "int64": "int64_t", "uint16": "uint16_t", "float64": "double", "uuid": "Uuid"}
SCALAR_IO = {"bool": "Bool", "int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64",
             "uint16": "Uint16", "float64": "Float64", "uuid": "Uuid"}
UNKNOWN_SAMPLE_TAG = 1000  # above every known tag, so it sorts last


def snake(name):
    out = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    return out + "_" if out in CPP_KEYWORDS or keyword.iskeyword(out) else out


def api_base_name(message):
    for suffix in ("Request", "Response"):
        if message.name.endswith(suffix):
            return message.name[: -len(suffix)]
    return message.name


class Emitter:
    def __init__(self):
        self.lines = []
        self.depth = 0

    def __call__(self, text=""):
        self.lines.append(("  " * self.depth + text) if text else "")

    def indent(self):
        self.depth += 1

    def dedent(self):
        self.depth -= 1

    def text(self):
        return "\n".join(self.lines) + "\n"


class MessageGen:
    """C++ for one message: struct declarations, codecs and sample filler."""

    def __init__(self, message):
        self.m = message
        self.structs = []  # (name, fields, versions present) in dependency order
        # Structs holding record bytes, directly or through a nested struct: Records (borrowed
        # bytes or file slices) has no equality, so these declare no operator==.
        self.holds_records = set()
        self.common = {s.name: s for s in message.common}
        for struct in message.common:
            self._collect(struct.fields)
            self.structs.append((struct.name, struct.fields))
        self._collect(message.fields)

    def _collect(self, fields):
        for f in fields:
            if f.tag is not None and str(f.tagged) != str(f.versions):
                raise ValueError(f"{self.m.name}.{f.name}: tagged versions must equal versions")
            if f.is_struct and f.fields:
                self._collect(f.fields)
                self.structs.append((f.element_type, f.fields))
            elif f.is_struct and f.element_type not in self.common:
                raise ValueError(f"{self.m.name}.{f.name}: struct {f.element_type} has no fields")

    # ---- version conditions -------------------------------------------------------------
    def present_versions(self, f):
        return [v for v in self.m.versions() if f.versions.contains(v)]

    def cond(self, versions, f):
        """C++ condition for `versions`, simplified within the versions where `f` exists."""
        domain = self.present_versions(f)
        inside = [v for v in domain if versions.contains(v)]
        if len(inside) == len(domain):
            return "true"
        if not inside:
            return "false"
        low, high = inside[0], inside[-1]
        parts = []
        if low > domain[0]:
            parts.append(f"version >= {low}")
        if high < domain[-1]:
            parts.append(f"version <= {high}")
        return " && ".join(parts)

    def flex(self, f):
        if f.flexible is None:
            return "flexible"
        return {"true": "flexible", "false": "false"}.get(self.cond(f.flexible, f), None) or \
            f"(flexible && {self.cond(f.flexible, f)})"

    # ---- types and defaults -------------------------------------------------------------
    @staticmethod
    def element_cpp(f):
        t = f.element_type
        if t in SCALAR_CPP:
            return SCALAR_CPP[t]
        if t in ("string", "bytes"):
            return "std::string"
        if t == "records":
            return "Records"
        return t

    def is_optional(self, f):
        return f.is_nullable_anywhere and f.type != "records"

    def cpp_type(self, f):
        t = self.element_cpp(f)
        if f.is_array:
            t = f"std::vector<{t}>"
        return f"std::optional<{t}>" if self.is_optional(f) else t

    def default_value(self, f):
        """Expression of the default value (for initializers and comparisons)."""
        if self.is_optional(f) and f.default == "null":
            return "std::nullopt"
        if f.default == "null":
            raise ValueError(f"{self.m.name}.{f.name}: null default on a non-nullable field")
        if f.is_array:
            return f"std::vector<{self.element_cpp(f)}>{{}}"
        t = f.type
        if t == "bool":
            return f.default or "false"
        if t in ("int8", "int16", "int32", "int64", "uint16"):
            return f"{SCALAR_CPP[t]}{{{f.default or 0}}}"
        if t == "float64":
            return f"double{{{f.default or 0}}}"
        if t == "uuid":
            return "Uuid{}"
        if t in ("string", "bytes"):
            return f"std::string({cpp_string(f.default)})" if f.default else "std::string()"
        if t == "records":
            return "Records{}"
        return f"{t}{{}}"

    def initializer(self, f):
        """` = value` for members whose default differs from value-initialisation."""
        if f.is_array or f.is_struct or f.type in ("uuid", "records"):
            return ""
        if self.is_optional(f):
            value = self.default_value(f)
            return "" if value == "std::nullopt" else f" = {value}"
        if f.type in ("string", "bytes"):
            return f" = {cpp_string(f.default)}" if f.default else ""
        if f.type == "bool":
            return f" = {f.default or 'false'}"
        return f" = {f.default or 0}"

    # ---- declarations -------------------------------------------------------------------
    def declare_fields(self, out, fields, name):
        for f in fields:
            out(f"{self.cpp_type(f)} {snake(f.name)}{self.initializer(f)};")
        out("TaggedFields unknown_tagged_fields;")
        if any(f.type == "records" or f.element_type in self.holds_records for f in fields):
            self.holds_records.add(name)
            return
        out()
        out(f"bool operator==(const {name}&) const = default;")

    def header(self, out):
        m = self.m
        out(f"struct {m.name} {{")
        out.indent()
        if m.api_key is not None:
            out(f"static constexpr int16_t kApiKey = {m.api_key};")
        out(f"static constexpr int16_t kMinVersion = {m.valid.low}, kMaxVersion = {m.valid.high};")
        out(f"static constexpr int16_t kFirstFlexibleVersion = {m.first_flexible};")
        out()
        for name, fields in self.structs:
            out(f"struct {name} {{")
            out.indent()
            self.declare_fields(out, fields, name)
            out("void Read(Reader& reader, int16_t version);")
            out("void Write(Writer& writer, int16_t version) const;")
            out.dedent()
            out("};")
            out()
        self.declare_fields(out, m.fields, m.name)
        out("absl::Status Decode(Reader& reader, int16_t version);")
        out("void Encode(Writer& writer, int16_t version) const;")
        out.dedent()
        out("};")
        out()

    # ---- decoding -----------------------------------------------------------------------
    def read_value(self, out, f, target, reader, flex):
        t = f.type
        if t in SCALAR_IO:
            out(f"{target} = {reader}.Read{SCALAR_IO[t]}();")
        elif t in ("string", "bytes"):
            kind = "String" if t == "string" else "Bytes"
            nullable = self.cond(f.nullable, f) if self.is_optional(f) else "false"
            if nullable == "true":
                out(f"{target} = {reader}.ReadNullable{kind}({flex});")
            elif nullable == "false":
                out(f"{target} = {reader}.Read{kind}({flex});")
            else:
                out(f"if ({nullable}) {{")
                out(f"  {target} = {reader}.ReadNullable{kind}({flex});")
                out("} else {")
                out(f"  {target} = {reader}.Read{kind}({flex});")
                out("}")
        elif t == "records":
            out(f"{target} = {reader}.ReadRecords({flex});")
            nullable = self.cond(f.nullable, f)
            if nullable != "true":
                guard = "" if nullable == "false" else f" && !({nullable})"
                out(f"if ({target}.is_null{guard}) {reader}.Fail(\"null records in a non-nullable field\");")
        elif f.is_array:
            self.read_array(out, f, target, reader, flex)
        else:
            out(f"{target}.Read({reader}, version);")

    def read_array(self, out, f, target, reader, flex):
        out("{")
        out.indent()
        out(f"const int32_t count = {reader}.ReadArrayLength({flex});")
        out("if (count < 0) {")
        nullable = self.cond(f.nullable, f) if self.is_optional(f) else "false"
        if nullable == "true":
            out(f"  {target}.reset();")
        elif nullable == "false":
            out(f"  {reader}.Fail(\"null array in a non-nullable field\");")
        else:
            out(f"  if ({nullable}) {{")
            out(f"    {target}.reset();")
            out("  } else {")
            out(f"    {reader}.Fail(\"null array in a non-nullable field\");")
            out("  }")
        out("} else {")
        out.indent()
        out(f"auto& items = {target + '.emplace()' if self.is_optional(f) else target};")
        out("items.clear();")
        out("items.reserve(InitialArrayCapacity(count));")
        out(f"for (int32_t i = 0; i < count && {reader}.ok(); ++i) {{")
        element = f.element_type
        if element in SCALAR_IO:
            out(f"  items.push_back({reader}.Read{SCALAR_IO[element]}());")
        elif element in ("string", "bytes"):
            kind = "String" if element == "string" else "Bytes"
            out(f"  items.push_back({reader}.Read{kind}({flex}));")
        else:
            out(f"  items.emplace_back().Read({reader}, version);")
        out("}")
        out.dedent()
        out("}")
        out.dedent()
        out("}")

    def read_body(self, out, fields, flexible_possible):
        out(f"[[maybe_unused]] const bool flexible = {self.flexible_expr()};")
        for f in fields:
            if f.tag is not None:
                continue
            if not self.present_versions(f):
                continue
            cond = self.version_range(f.versions)
            if cond == "true":
                self.read_value(out, f, snake(f.name), "reader", self.flex(f))
            else:
                out(f"if ({cond}) {{")
                out.indent()
                self.read_value(out, f, snake(f.name), "reader", self.flex(f))
                out.dedent()
                out("}")
        if not flexible_possible:
            return
        tagged = [f for f in fields if f.tag is not None and self.present_versions(f)]
        out("if (flexible) {")
        out.indent()
        out("const uint32_t tagged_count = reader.ReadUnsignedVarint();")
        out("for (uint32_t tagged_index = 0; tagged_index < tagged_count && reader.ok(); ++tagged_index) {")
        out.indent()
        out("const uint32_t tag = reader.ReadUnsignedVarint();")
        out("Reader field = reader.ReadTaggedFieldBody();")
        for index, f in enumerate(sorted(tagged, key=lambda f: f.tag)):
            cond = self.version_range(f.tagged)
            prefix = "if" if index == 0 else "} else if"
            out(f"{prefix} (tag == {f.tag}{'' if cond == 'true' else ' && ' + cond}) {{")
            out.indent()
            self.read_value(out, f, snake(f.name), "field", "true")
            out.dedent()
        if tagged:
            out("} else {")
            out("  unknown_tagged_fields.push_back(TaggedField{tag, std::string(field.ReadRemaining())});")
            out("}")
        else:
            out("unknown_tagged_fields.push_back(TaggedField{tag, std::string(field.ReadRemaining())});")
        out("reader.Absorb(field);")
        out.dedent()
        out("}")
        out.dedent()
        out("}")

    def version_range(self, versions):
        """Condition over the message's versions (not simplified per field)."""
        inside = [v for v in self.m.versions() if versions.contains(v)]
        all_versions = list(self.m.versions())
        if inside == all_versions:
            return "true"
        parts = []
        if inside[0] > all_versions[0]:
            parts.append(f"version >= {inside[0]}")
        if inside[-1] < all_versions[-1]:
            parts.append(f"version <= {inside[-1]}")
        return " && ".join(parts)

    def flexible_expr(self):
        if self.m.flexible.empty:
            return "false"
        return f"version >= {self.m.first_flexible}"

    # ---- encoding -----------------------------------------------------------------------
    def write_value(self, out, f, source, writer, flex):
        t = f.type
        if t in SCALAR_IO:
            out(f"{writer}.Write{SCALAR_IO[t]}({source});")
        elif t in ("string", "bytes"):
            kind = "String" if t == "string" else "Bytes"
            if not self.is_optional(f):
                out(f"{writer}.Write{kind}({source}, {flex});")
                return
            nullable = self.cond(f.nullable, f)
            as_view = f"{source} ? std::string_view(*{source}) : std::string_view()"
            if nullable == "true":
                out(f"{writer}.WriteNullable{kind}({source}, {flex});")
            elif nullable == "false":
                out(f"{writer}.Write{kind}({as_view}, {flex});")
            else:
                out(f"if ({nullable}) {{")
                out(f"  {writer}.WriteNullable{kind}({source}, {flex});")
                out("} else {")
                out(f"  {writer}.Write{kind}({as_view}, {flex});")
                out("}")
        elif t == "records":
            out(f"{writer}.WriteRecords({source}, {flex});")
        elif f.is_array:
            self.write_array(out, f, source, writer, flex)
        else:
            out(f"{source}.Write({writer}, version);")

    def write_array(self, out, f, source, writer, flex):
        items = source
        if self.is_optional(f):
            nullable = self.cond(f.nullable, f)
            out(f"if (!{source}) {{")
            if nullable == "true":
                out(f"  {writer}.WriteNullArrayLength({flex});")
            elif nullable == "false":
                out(f"  {writer}.WriteArrayLength(0, {flex});")
            else:
                out(f"  if ({nullable}) {{")
                out(f"    {writer}.WriteNullArrayLength({flex});")
                out("  } else {")
                out(f"    {writer}.WriteArrayLength(0, {flex});")
                out("  }")
            out("} else {")
            items = f"(*{source})"
            out.indent()
        out(f"{writer}.WriteArrayLength({items}.size(), {flex});")
        out(f"for (const auto& item : {items}) {{")
        element = f.element_type
        if element in SCALAR_IO:
            out(f"  {writer}.Write{SCALAR_IO[element]}(item);")
        elif element in ("string", "bytes"):
            kind = "String" if element == "string" else "Bytes"
            out(f"  {writer}.Write{kind}(item, {flex});")
        else:
            out(f"  item.Write({writer}, version);")
        out("}")
        if self.is_optional(f):
            out.dedent()
            out("}")

    def write_body(self, out, fields, flexible_possible):
        out(f"[[maybe_unused]] const bool flexible = {self.flexible_expr()};")
        for f in fields:
            if f.tag is not None or not self.present_versions(f):
                continue
            cond = self.version_range(f.versions)
            if cond == "true":
                self.write_value(out, f, snake(f.name), "writer", self.flex(f))
            else:
                out(f"if ({cond}) {{")
                out.indent()
                self.write_value(out, f, snake(f.name), "writer", self.flex(f))
                out.dedent()
                out("}")
        if not flexible_possible:
            return
        tagged = sorted([f for f in fields if f.tag is not None and self.present_versions(f)],
                        key=lambda f: f.tag)
        out("if (flexible) {")
        out.indent()
        if not tagged:
            out("writer.WriteTaggedFields(unknown_tagged_fields);")
        else:
            for f in tagged:
                cond = self.version_range(f.tagged)
                differs = f"!({snake(f.name)} == {self.default_value(f)})"
                out(f"const bool write_{snake(f.name)} = {differs if cond == 'true' else cond + ' && ' + differs};")
            count = " + ".join(f"static_cast<uint32_t>(write_{snake(f.name)})" for f in tagged)
            out(f"TaggedFieldsWriter tagged(writer, unknown_tagged_fields, {count});")
            for f in tagged:
                out(f"if (write_{snake(f.name)}) {{")
                out(f"  tagged.Write({f.tag}, [&](Writer& field) {{")
                out.indent()
                out.indent()
                self.write_value(out, f, snake(f.name), "field", "true")
                out.dedent()
                out.dedent()
                out("  });")
                out("}")
            out("tagged.Finish();")
        out.dedent()
        out("}")

    def source(self, out):
        m = self.m
        flexible_possible = not m.flexible.empty
        for name, fields in self.structs:
            out(f"void {m.name}::{name}::Read(Reader& reader, [[maybe_unused]] int16_t version) {{")
            out.indent()
            self.read_body(out, fields, flexible_possible)
            out.dedent()
            out("}")
            out()
            out(f"void {m.name}::{name}::Write(Writer& writer, [[maybe_unused]] int16_t version) const {{")
            out.indent()
            self.write_body(out, fields, flexible_possible)
            out.dedent()
            out("}")
            out()
        out(f"absl::Status {m.name}::Decode(Reader& reader, int16_t version) {{")
        out.indent()
        out("if (version < kMinVersion || version > kMaxVersion) {")
        out(f"  return absl::InvalidArgumentError(fmt::format(\"{m.name} v{{}} is not defined\", version));")
        out("}")
        self.read_body(out, m.fields, flexible_possible)
        out("return reader.status();")
        out.dedent()
        out("}")
        out()
        out(f"void {m.name}::Encode(Writer& writer, [[maybe_unused]] int16_t version) const {{")
        out.indent()
        self.write_body(out, m.fields, flexible_possible)
        out.dedent()
        out("}")
        out()

    # ---- samples (tests) ----------------------------------------------------------------
    def sample_value(self, f, index):
        seed = zlib.crc32(f"{self.m.name}.{f.name}".encode()) % 90 + 2 + index
        t = f.element_type
        if t in ("int8", "int16", "int32", "int64", "uint16"):
            default = 0 if f.default in (None, "null") else int(f.default, 0)
            value = seed if seed != default else seed + 1
            return f"{SCALAR_CPP[t]}{{{value}}}"
        if t == "bool":
            return "false" if f.default == "true" else "true"
        if t == "float64":
            return f"{seed}.5"
        if t == "uuid":
            return f"SampleUuid({seed})"
        if t == "string":
            return f'std::string("{f.name.lower()}-{index}")'
        if t == "bytes":
            return f'std::string("\\x01\\x00bytes-{index}", {8 + len(str(index))})'
        if t == "records":
            return "Records::Borrow(kSampleRecords)"
        return None  # struct

    def fill_field(self, out, f, target):
        if f.is_array:
            items = f"{target}.emplace()" if self.is_optional(f) else target
            out("{")
            out.indent()
            out(f"auto& items = {items};")
            for index in range(2):
                value = self.sample_value(f, index)
                if value is None:
                    out("FillSample(items.emplace_back(), version);")
                else:
                    out(f"items.push_back({value});")
            out.dedent()
            out("}")
            return
        value = self.sample_value(f, 0)
        if value is None:
            out(f"FillSample({target}, version);")
        else:
            out(f"{target} = {value};")

    def fill_body(self, out, fields, target):
        for f in fields:
            if not self.present_versions(f):
                continue
            cond = self.version_range(f.versions)
            member = f"{target}.{snake(f.name)}"
            if cond == "true":
                self.fill_field(out, f, member)
            else:
                out(f"if ({cond}) {{")
                out.indent()
                self.fill_field(out, f, member)
                out.dedent()
                out("}")
        if not self.m.flexible.empty:
            out(f"if ({self.flexible_expr()}) {{")
            out(f"  {target}.unknown_tagged_fields.push_back(TaggedField{{{UNKNOWN_SAMPLE_TAG}, \"unknown\"}});")
            out("}")

    def samples(self, out, declarations):
        m = self.m
        for name, _ in self.structs:
            declarations(f"void FillSample({m.name}::{name}& value, int16_t version);")
        for name, fields in self.structs:
            out(f"void FillSample({m.name}::{name}& value, [[maybe_unused]] int16_t version) {{")
            out.indent()
            self.fill_body(out, fields, "value")
            out.dedent()
            out("}")
            out()
        out(f"void FillSample({m.name}& value, [[maybe_unused]] int16_t version) {{")
        out.indent()
        self.fill_body(out, m.fields, "value")
        out.dedent()
        out("}")
        out()


def cpp_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


HEADER_PRELUDE = """// Generated by protocol/kafka/codegen/generate.py from protocol/kafka/schema/{stem}.msg.
// Do not edit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "protocol/kafka/wire.h"

namespace sluice::kafka {{
"""


def write_if_changed(path, text):
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    schema_dir, out_dir = argv[1], argv[2]
    os.makedirs(out_dir, exist_ok=True)
    stems = sorted(name[:-4] for name in os.listdir(schema_dir) if name.endswith(".msg"))
    all_messages = []
    defined_apis = []
    sample_decls, sample_defs = Emitter(), Emitter()
    for stem in stems:
        messages = schema.load(os.path.join(schema_dir, stem + ".msg"))
        gens = [MessageGen(m) for m in messages]
        header = Emitter()
        header.lines.append(HEADER_PRELUDE.format(stem=stem))
        for gen in gens:
            gen.header(header)
        header("}  // namespace sluice::kafka")
        write_if_changed(os.path.join(out_dir, stem + ".h"), header.text())

        source = Emitter()
        source(f"// Generated from protocol/kafka/schema/{stem}.msg. Do not edit.")
        source(f'#include "protocol/kafka/messages/{stem}.h"')
        source()
        source("#include <fmt/format.h>")
        source()
        source("namespace sluice::kafka {")
        source()
        for gen in gens:
            gen.source(source)
        source("}  // namespace sluice::kafka")
        write_if_changed(os.path.join(out_dir, stem + ".cc"), source.text())

        for gen in gens:
            all_messages.append((stem, gen.m.name))
            gen.samples(sample_defs, sample_decls)
            if gen.m.kind == "request":
                defined_apis.append(gen.m)

    all_h = Emitter()
    all_h("// Generated by protocol/kafka/codegen/generate.py. Do not edit.")
    all_h("#pragma once")
    all_h()
    all_h("#include <cstdint>")
    all_h("#include <string_view>")
    all_h()
    for stem in stems:
        all_h(f'#include "protocol/kafka/messages/{stem}.h"')
    all_h()
    all_h("namespace sluice::kafka {")
    all_h()
    all_h("// An API with request and response definitions (whether or not the broker advertises it).")
    all_h("struct DefinedApi {")
    all_h("  int16_t key;")
    all_h("  std::string_view name;")
    all_h("  int16_t min_version;")
    all_h("  int16_t max_version;")
    all_h("  int16_t first_flexible_version;")
    all_h("};")
    all_h()
    all_h("inline constexpr DefinedApi kDefinedApis[] = {")
    for m in sorted(defined_apis, key=lambda m: m.api_key):
        all_h(f'    {{{m.api_key}, "{api_base_name(m)}", {m.valid.low}, {m.valid.high}, {m.first_flexible}}},')
    all_h("};")
    all_h()
    all_h("}  // namespace sluice::kafka")
    all_h()
    all_h("// X(Type) for every request and response type (headers excluded).")
    names = [name for _, name in all_messages if not name.endswith("Header")]
    all_h("#define SLUICE_KAFKA_FOR_EACH_MESSAGE(X) \\")
    all_h("  " + " \\\n  ".join(f"X({n})" for n in names))
    write_if_changed(os.path.join(out_dir, "all.h"), all_h.text())

    samples_h = Emitter()
    samples_h("// Generated by protocol/kafka/codegen/generate.py. Do not edit. Test support only.")
    samples_h("#pragma once")
    samples_h()
    samples_h('#include "protocol/kafka/messages/all.h"')
    samples_h()
    samples_h("namespace sluice::kafka::testing {")
    samples_h()
    samples_h("// Sets every field that exists in `version` to a non-default value (arrays get two")
    samples_h("// elements, nullable fields a value) and adds an unknown tagged field in flexible versions.")
    for _, name in all_messages:
        samples_h(f"void FillSample({name}& value, int16_t version);")
    samples_h()
    samples_h("}  // namespace sluice::kafka::testing")
    write_if_changed(os.path.join(out_dir, "samples.h"), samples_h.text())

    samples_cc = Emitter()
    samples_cc("// Generated by protocol/kafka/codegen/generate.py. Do not edit. Test support only.")
    samples_cc('#include "protocol/kafka/messages/samples.h"')
    samples_cc()
    samples_cc("namespace sluice::kafka::testing {")
    samples_cc("namespace {")
    samples_cc('[[maybe_unused]] constexpr std::string_view kSampleRecords = "sample-record-batch-bytes";')
    samples_cc()
    samples_cc("[[maybe_unused]] Uuid SampleUuid(int seed) {")
    samples_cc("  Uuid uuid;")
    samples_cc("  for (size_t i = 0; i < uuid.bytes.size(); ++i) uuid.bytes[i] = static_cast<uint8_t>(seed + i);")
    samples_cc("  return uuid;")
    samples_cc("}")
    samples_cc("}  // namespace")
    samples_cc()
    samples_cc.lines += sample_decls.lines
    samples_cc()
    samples_cc.lines += sample_defs.lines
    samples_cc("}  // namespace sluice::kafka::testing")
    write_if_changed(os.path.join(out_dir, "samples.cc"), samples_cc.text())


if __name__ == "__main__":
    main(sys.argv)
