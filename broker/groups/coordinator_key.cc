#include "broker/groups/coordinator_key.h"

#include <limits>

namespace sluice::broker::groups {
namespace {

constexpr uint32_t kReplacement = 0xFFFD;

// Decodes one code point at `i` (advancing it); malformed sequences yield U+FFFD for one byte.
uint32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t lead = byte(i);
  int extra = 0;
  uint32_t cp = 0;
  if (lead < 0x80) {
    ++i;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    extra = 1, cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, cp = lead & 0x07;
  } else {
    ++i;
    return kReplacement;
  }
  if (i + extra >= s.size()) {  // truncated sequence
    ++i;
    return kReplacement;
  }
  for (int k = 1; k <= extra; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return kReplacement;
  }
  i += extra + 1;
  return cp;
}

}  // namespace

int32_t JavaStringHash(std::string_view utf8) {
  uint32_t hash = 0;
  auto add = [&hash](uint32_t unit) { hash = hash * 31 + unit; };
  for (size_t i = 0; i < utf8.size();) {
    const uint32_t cp = NextCodePoint(utf8, i);
    if (cp >= 0x10000) {
      add(0xD800 + ((cp - 0x10000) >> 10));
      add(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      add(cp);
    }
  }
  return static_cast<int32_t>(hash);
}

int32_t OffsetsPartitionFor(std::string_view group_id, int32_t partitions) {
  const int32_t hash = JavaStringHash(group_id);
  const int32_t non_negative = hash == std::numeric_limits<int32_t>::min() ? 0 : (hash < 0 ? -hash : hash);
  return partitions <= 0 ? 0 : non_negative % partitions;
}

}  // namespace sluice::broker::groups
