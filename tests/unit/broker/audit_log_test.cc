#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "broker/audit/audit_log.h"

using namespace sluice::broker::audit;

namespace {

struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-audit-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

std::vector<std::string> Lines(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

AuditEvent Event(std::string resource) {
  return {.time_ms = 1'796'155'200'123,
          .principal = "User:ANONYMOUS",
          .client = "127.0.0.1:40000",
          .listener = "PLAINTEXT",
          .api = "CreateTopics",
          .resource_type = "TOPIC",
          .resource = std::move(resource),
          .result = "NONE"};
}

}  // namespace

TEST_CASE("an audit event is one JSON line with every field") {
  const auto line = nlohmann::json::parse(ToJsonLine(Event("orders")));
  CHECK(line["time"] == "2026-12-01T20:00:00.123Z");
  CHECK(line["principal"] == "User:ANONYMOUS");
  CHECK(line["client"] == "127.0.0.1:40000");
  CHECK(line["listener"] == "PLAINTEXT");
  CHECK(line["api"] == "CreateTopics");
  CHECK(line["resource_type"] == "TOPIC");
  CHECK(line["resource"] == "orders");
  CHECK(line["result"] == "NONE");
  // A name that is not UTF-8 (clients may send any bytes) still makes a valid line.
  const std::string odd = ToJsonLine(Event(std::string("bad\xff\"\n", 6)));
  CHECK(odd.find('\n') == std::string::npos);
  CHECK(nlohmann::json::parse(odd)["resource"].get<std::string>().starts_with("bad"));
}

TEST_CASE("the audit log appends lines across reopenings and rotates by size") {
  TempDir dir;
  const auto file = dir.path / "audit" / "admin.log";
  {
    auto log = AuditLog::Open({.file = file, .max_bytes = 1 << 20, .max_files = 2});
    REQUIRE(log.ok());
    (*log)->Record(Event("a"));
    (*log)->Record(Event("b"));
    (*log)->Flush();
    CHECK(Lines(file).size() == 2);
  }
  {
    // A line is ~170 bytes: a file of 400 bytes or more is rotated before the next write, so
    // each holds at most three lines and 20 more lines push "a" out of the two kept.
    auto log = AuditLog::Open({.file = file, .max_bytes = 400, .max_files = 2});
    REQUIRE(log.ok());
    for (int i = 0; i < 20; ++i) {
      (*log)->Record(Event(fmt::format("n{}", i)));
      (*log)->Flush();
    }
  }
  std::vector<std::string> resources;
  for (const auto& path : {file.string() + ".2", file.string() + ".1", file.string()}) {
    for (const std::string& line : Lines(path)) resources.push_back(nlohmann::json::parse(line)["resource"]);
  }
  // Two rotated files and the current one: the oldest lines fell off the end.
  CHECK_FALSE(std::filesystem::exists(file.string() + ".3"));
  REQUIRE(resources.size() >= 3);
  CHECK(resources.back() == "n19");
  CHECK(resources.size() <= 9);
  CHECK(std::find(resources.begin(), resources.end(), "a") == resources.end());
}

TEST_CASE("an audit log that cannot be opened is an error, not a silent gap") {
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";
  CHECK_FALSE(AuditLog::Open({.file = dir.path / "file" / "admin.log"}).ok());
  CHECK_FALSE(AuditLog::Open({.file = dir.path / "admin.log", .max_bytes = 0}).ok());
}
