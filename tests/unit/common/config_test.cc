#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/config.h"

using namespace sluice::config;

namespace {
Schema TestSchema() {
  Schema schema;
  schema.Define({.name = "log.retention.ms", .type = Type::kLong, .default_value = "604800000", .doc = "retention", .min = -1});
  schema.Define({.name = "auto.create.topics.enable", .type = Type::kBool, .default_value = "true", .doc = "auto create"});
  schema.Define({.name = "cleanup.policy", .type = Type::kString, .default_value = "delete", .doc = "policy",
                 .allowed_values = {"delete", "compact"}});
  return schema;
}
}  // namespace

TEST_CASE("properties text parses comments, separators and whitespace") {
  auto pairs = ParsePropertiesText("# comment\n! also\n a.b = 1 \nc.d:two\n\n");
  REQUIRE(pairs.ok());
  REQUIRE(pairs->size() == 2);
  CHECK((*pairs)[0] == std::pair<std::string, std::string>{"a.b", "1"});
  CHECK((*pairs)[1] == std::pair<std::string, std::string>{"c.d", "two"});
  CHECK(!ParsePropertiesText("novalue").ok());
}

TEST_CASE("defaults, overrides and validation by type") {
  Schema schema = TestSchema();
  CommandLine cl;
  cl.overrides = {{"log.retention.ms", "-1"}};
  auto props = Load(schema, cl);
  REQUIRE(props.ok());
  CHECK(props->GetLong("log.retention.ms") == -1);
  CHECK(props->GetBool("auto.create.topics.enable"));
  CHECK(props->GetString("cleanup.policy") == "delete");

  Properties p(&schema);
  CHECK(p.Set("log.retention.ms", "-2").message().find("below the minimum") != std::string::npos);
  CHECK(p.Set("log.retention.ms", "ten").message().find("log.retention.ms") != std::string::npos);
  CHECK(!p.Set("cleanup.policy", "keep").ok());
  CHECK(p.Set("no.such.key", "1").message().find("unknown configuration 'no.such.key'") != std::string::npos);
  CHECK(!p.Set("auto.create.topics.enable", "yes").ok());
}

TEST_CASE("command line flags") {
  const char* argv[] = {"prog", "--config", "f.properties", "--override", "a=b=c", "--help"};
  auto cl = ParseCommandLine(6, const_cast<char**>(argv));
  REQUIRE(cl.ok());
  CHECK(cl->help);
  CHECK(*cl->config_file == "f.properties");
  CHECK(cl->overrides[0] == std::pair<std::string, std::string>{"a", "b=c"});
  const char* bad[] = {"prog", "--bogus"};
  CHECK(!ParseCommandLine(2, const_cast<char**>(bad)).ok());
}

TEST_CASE("file, then environment, then overrides") {
  Schema schema = TestSchema();
  char path[] = "/tmp/sluice-config-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string text = "log.retention.ms=100\ncleanup.policy=compact\n";
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fd);
  setenv("SLUICE_LOG_RETENTION_MS", "200", 1);
  CommandLine cl;
  cl.config_file = path;
  auto props = Load(schema, cl);
  REQUIRE(props.ok());
  CHECK(props->GetLong("log.retention.ms") == 200);
  CHECK(props->GetString("cleanup.policy") == "compact");
  cl.overrides = {{"log.retention.ms", "300"}};
  CHECK(Load(schema, cl)->GetLong("log.retention.ms") == 300);
  setenv("SLUICE_LOG_RETENTION_MS", "never", 1);
  auto bad = Load(schema, cl);
  CHECK(!bad.ok());
  CHECK(std::string(bad.status().message()).find("SLUICE_LOG_RETENTION_MS") != std::string::npos);
  unsetenv("SLUICE_LOG_RETENTION_MS");
  std::remove(path);
  cl.config_file = "/nonexistent/sluice.properties";
  CHECK(Load(schema, cl).status().code() == absl::StatusCode::kNotFound);
}
