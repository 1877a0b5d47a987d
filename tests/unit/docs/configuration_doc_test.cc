// docs/configuration.md is rendered from the property schemas; this test fails when they drift.
// Regenerate with: SLUICE_WRITE_DOCS=1 build/tests/unit/docs/docs_test

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "broker/config/broker_config.h"
#include "controller/service/controller_config.h"
#include "protocol/metadata/topic_config.h"

namespace {

using sluice::config::Schema;

std::string Table(const Schema& schema) {
  std::string out = "| property | type | default | meaning |\n|---|---|---|---|\n";
  const char* types[] = {"int", "long", "boolean", "string", "list", "double"};
  for (const auto& def : schema.defs()) {
    std::string meaning = def.doc;
    if (!def.allowed_values.empty()) meaning += fmt::format(" (one of: {})", fmt::join(def.allowed_values, ", "));
    if (def.min) meaning += fmt::format(" (at least {})", *def.min);
    out += fmt::format("| `{}` | {} | `{}` | {} |\n", def.name, types[static_cast<int>(def.type)], def.default_value, meaning);
  }
  return out;
}

std::string Render() {
  std::string topic_defaults = "| topic property | broker default from |\n|---|---|\n";
  for (const auto& key : sluice::metadata::TopicConfigKeys()) {
    topic_defaults += fmt::format("| `{}` | `{}` |\n", key.topic_name,
                                  key.topic_name == "retention.ms" ? "log.retention.ms / .minutes / .hours"
                                                                   : key.broker_name);
  }
  return fmt::format(
      "# Configuration reference\n\n"
      "Generated from the property schemas by `tests/unit/docs/configuration_doc_test.cc`\n"
      "(regenerate: `SLUICE_WRITE_DOCS=1 build/tests/unit/docs/docs_test`).\n\n"
      "Both processes read a Java properties file (`--config FILE`), then environment variables\n"
      "(`SLUICE_` + the upper-cased name with `.` and `-` as `_`, e.g. `SLUICE_LOG_DIRS`), then\n"
      "`--override key=value` flags. An unknown key or an invalid value stops start-up with a\n"
      "message that names the key. `--help` lists the same properties.\n\n"
      "## sluice-broker\n\n{}\n"
      "## sluice-controller\n\n"
      "Controllers form a Raft quorum of 1, 3 or 5 voters; every voter and every broker is given the\n"
      "same `controller.quorum.voters`. Three controllers and three brokers on one machine:\n\n"
      "    voters=3000@127.0.0.1:9192,3001@127.0.0.1:9193,3002@127.0.0.1:9194\n"
      "    sluice-controller --override node.id=3000 --override listeners=CONTROLLER://127.0.0.1:9192 \\\n"
      "        --override controller.quorum.voters=$voters --override metadata.log.dir=/data/c3000\n"
      "    # ... node.id 3001 on 9193 and 3002 on 9194 likewise, each with its own metadata.log.dir\n"
      "    sluice-broker --override node.id=1 --override listeners=PLAINTEXT://127.0.0.1:9092 \\\n"
      "        --override controller.quorum.voters=$voters --override log.dirs=/data/b1\n"
      "    # ... brokers 2 and 3 on 9093 and 9094 likewise\n\n"
      "(`deploy/local/cluster up --brokers 3 --controllers 3` does exactly this.) The quorum stays\n"
      "available while a majority of voters runs. `metadata.log.max.snapshot.interval.entries` sets how\n"
      "often each voter snapshots its image; a voter or broker further behind than that is sent the\n"
      "snapshot instead of the entries.\n\n{}\n"
      "## Topic configs\n\n"
      "Set with CreateTopics, AlterConfigs or IncrementalAlterConfigs. A topic without its own value\n"
      "uses the broker property named below.\n\n{}\n{}",
      Table(sluice::broker::BrokerSchema()), Table(sluice::controller::ControllerSchema()),
      Table(sluice::metadata::TopicConfigSchema()), topic_defaults);
}

}  // namespace

TEST_CASE("docs/configuration.md matches the property schemas") {
  const std::string path = std::string(SLUICE_SOURCE_DIR) + "/docs/configuration.md";
  const std::string expected = Render();
  if (std::getenv("SLUICE_WRITE_DOCS") != nullptr) {
    std::ofstream(path) << expected;
  }
  std::ifstream in(path);
  std::stringstream actual;
  actual << in.rdbuf();
  INFO("regenerate with SLUICE_WRITE_DOCS=1 build/tests/unit/docs/docs_test");
  CHECK(actual.str() == expected);
}
