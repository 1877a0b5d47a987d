// The metrics reference in docs/operations.md (between its metrics markers) is rendered from
// the families the broker and the controller declare; this test fails when they drift.
// Regenerate with: SLUICE_WRITE_DOCS=1 build/tests/unit/docs/docs_test

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "broker/admin/broker_metrics.h"
#include "controller/service/controller_metrics.h"

namespace {

constexpr std::string_view kBegin = "<!-- metrics:begin (generated) -->\n";
constexpr std::string_view kEnd = "<!-- metrics:end -->\n";

std::string Table(void (*describe)(sluice::metrics::Registry&)) {
  sluice::metrics::Registry registry;
  describe(registry);
  const char* types[] = {"counter", "gauge", "histogram"};
  std::string out = "| metric | type | meaning |\n|---|---|---|\n";
  for (const auto& family : registry.Families()) {
    out += fmt::format("| `{}` | {} | {} |\n", family.name, types[static_cast<int>(family.type)], family.help);
  }
  return out;
}

std::string Render() {
  return fmt::format("{}### sluice-broker\n\n{}\n### sluice-controller\n\n{}{}", kBegin,
                     Table(sluice::broker::DescribeBrokerMetrics), Table(sluice::controller::DescribeControllerMetrics),
                     kEnd);
}

}  // namespace

TEST_CASE("docs/operations.md lists the metrics the processes declare") {
  const std::string path = std::string(SLUICE_SOURCE_DIR) + "/docs/operations.md";
  std::stringstream contents;
  contents << std::ifstream(path).rdbuf();
  std::string doc = contents.str();
  const size_t begin = doc.find(kBegin);
  const size_t end = doc.find(kEnd);
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  const std::string actual = doc.substr(begin, end + kEnd.size() - begin);
  const std::string expected = Render();
  if (std::getenv("SLUICE_WRITE_DOCS") != nullptr) {
    doc.replace(begin, actual.size(), expected);
    std::ofstream(path) << doc;
  }
  INFO("regenerate with SLUICE_WRITE_DOCS=1 build/tests/unit/docs/docs_test");
  CHECK((std::getenv("SLUICE_WRITE_DOCS") != nullptr || actual == expected));
}
