#include "controller/service/controller_config.h"

namespace sluice::controller {

const config::Schema& ControllerSchema() {
  using config::Type;
  static const config::Schema schema = [] {
    config::Schema s;
    s.Define({.name = "node.id", .type = Type::kInt, .default_value = "3000", .doc = "this controller's id", .min = 0});
    s.Define({.name = "listeners", .type = Type::kString, .default_value = "CONTROLLER://127.0.0.1:9093",
              .doc = "where brokers reach the controller: NAME://host:port"});
    s.Define({.name = "metadata.log.dir", .type = Type::kString, .default_value = "/tmp/sluice-controller",
              .doc = "directory of the metadata log (RocksDB)"});
    s.Define({.name = "broker.session.timeout.ms", .type = Type::kLong, .default_value = "9000",
              .doc = "a broker that has not heartbeaten for this long is fenced", .min = 100});
    s.Define({.name = "log.level", .type = Type::kString, .default_value = "info", .doc = "debug, info, warn or error",
              .allowed_values = {"debug", "info", "warn", "error"}});
    return s;
  }();
  return schema;
}

}  // namespace sluice::controller
