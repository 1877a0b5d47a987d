#pragma once
// Kafka's 128-bit identifier (topic ids, directory ids), shown as URL-safe base64 without padding.

#include <array>
#include <cstdint>
#include <string>

namespace sluice::kafka {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  bool operator==(const Uuid&) const = default;
  bool IsZero() const;
  // 22 characters of base64url, no padding (the form Kafka tools print and accept).
  std::string ToString() const;
  // Version 4 random id. Like Kafka, never returns zero or an id whose text starts with '-'
  // (which command-line tools would take for an option).
  static Uuid Random();
};

}  // namespace sluice::kafka
