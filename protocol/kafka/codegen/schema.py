"""Parser for Sluice's compact Kafka message definitions (protocol/kafka/schema/*.msg).

Format, one item per line, nesting by two-space indentation ('#' starts a comment line):

  request ProduceRequest key=0 versions=0-11 flexible=9+
    Acks int16 v=0+
    TopicData []TopicProduceData v=0+
      Name string v=0+
    common SomeStruct v=0+
      Field int32 v=0+

A message line is `request|response|header Name [key=N] versions=R flexible=R`. A field line is
`Name type v=R [null=R] [tag=N tagv=R] [default=VALUE] [flex=R]` where R is `N`, `N-M`, `N+` or
`none`. `flex` overrides the message's flexible versions for that field only. Fields indented
under a field of struct or struct-array type are the struct's fields; `common Name v=R` declares a
struct shared by several fields (those fields then name it without listing fields).
"""

import dataclasses
import shlex
from typing import List, Optional

SCALAR_TYPES = ("bool", "int8", "int16", "int32", "int64", "uint16", "float64", "uuid")
BLOB_TYPES = ("string", "bytes", "records")


@dataclasses.dataclass(frozen=True)
class Versions:
    low: int = 0
    high: Optional[int] = None  # None: open-ended
    empty: bool = False

    @staticmethod
    def parse(text: str) -> "Versions":
        if text == "none":
            return Versions(empty=True)
        if text.endswith("+"):
            return Versions(int(text[:-1]), None)
        if "-" in text:
            low, high = text.split("-")
            return Versions(int(low), int(high))
        return Versions(int(text), int(text))

    def contains(self, version: int) -> bool:
        if self.empty:
            return False
        return version >= self.low and (self.high is None or version <= self.high)

    def __str__(self) -> str:
        if self.empty:
            return "none"
        if self.high is None:
            return f"{self.low}+"
        if self.high == self.low:
            return str(self.low)
        return f"{self.low}-{self.high}"


@dataclasses.dataclass
class Field:
    name: str
    type: str
    versions: Versions
    nullable: Versions = Versions(empty=True)
    tag: Optional[int] = None
    tagged: Versions = Versions(empty=True)
    default: Optional[str] = None
    flexible: Optional[Versions] = None  # field-level override
    fields: List["Field"] = dataclasses.field(default_factory=list)

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def element_type(self) -> str:
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self) -> bool:
        t = self.element_type
        return t not in SCALAR_TYPES and t not in BLOB_TYPES

    @property
    def is_nullable_anywhere(self) -> bool:
        return not self.nullable.empty


@dataclasses.dataclass
class Struct:
    name: str
    versions: Versions
    fields: List[Field]


@dataclasses.dataclass
class Message:
    kind: str  # request, response or header
    name: str
    api_key: Optional[int]
    valid: Versions
    flexible: Versions
    fields: List[Field]
    common: List[Struct]

    def versions(self) -> range:
        return range(self.valid.low, self.valid.high + 1)

    @property
    def first_flexible(self) -> int:
        return 32767 if self.flexible.empty else self.flexible.low


def _attrs(tokens):
    out = {}
    for token in tokens:
        key, _, value = token.partition("=")
        out[key] = value
    return out


def _parse_field(tokens) -> Field:
    attrs = _attrs(tokens[2:])
    unknown = set(attrs) - {"v", "null", "tag", "tagv", "default", "flex"}
    if unknown:
        raise ValueError(f"unknown field attributes {sorted(unknown)} in {' '.join(tokens)}")
    return Field(
        name=tokens[0],
        type=tokens[1],
        versions=Versions.parse(attrs["v"]),
        nullable=Versions.parse(attrs.get("null", "none")),
        tag=int(attrs["tag"]) if "tag" in attrs else None,
        tagged=Versions.parse(attrs.get("tagv", "none")),
        default=attrs.get("default"),
        flexible=Versions.parse(attrs["flex"]) if "flex" in attrs else None,
    )


def parse(text: str, origin: str = "<text>") -> List[Message]:
    messages: List[Message] = []
    stack = []  # (indent, list that receives children)
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        tokens = shlex.split(raw.strip())
        try:
            if indent == 0:
                attrs = _attrs(tokens[2:])
                message = Message(
                    kind=tokens[0], name=tokens[1],
                    api_key=int(attrs["key"]) if "key" in attrs else None,
                    valid=Versions.parse(attrs["versions"]),
                    flexible=Versions.parse(attrs["flexible"]),
                    fields=[], common=[])
                messages.append(message)
                stack = [(0, message.fields, message)]
                continue
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if not stack:
                raise ValueError("field outside of a message")
            message = messages[-1]
            if tokens[0] == "common":
                struct = Struct(tokens[1], Versions.parse(_attrs(tokens[2:])["v"]), [])
                message.common.append(struct)
                stack.append((indent, struct.fields, message))
                continue
            field = _parse_field(tokens)
            stack[-1][1].append(field)
            stack.append((indent, field.fields, message))
        except (ValueError, KeyError, IndexError) as error:
            raise ValueError(f"{origin}:{number}: {error}") from error
    return messages


def load(path: str) -> List[Message]:
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), path)
