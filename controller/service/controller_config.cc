#include "controller/service/controller_config.h"

#include "protocol/net/tls_config.h"

namespace sluice::controller {

const config::Schema& ControllerSchema() {
  using config::Type;
  static const config::Schema schema = [] {
    config::Schema s;
    s.Define({.name = "node.id", .type = Type::kInt, .default_value = "3000", .doc = "this controller's id", .min = 0});
    s.Define({.name = "listeners", .type = Type::kString, .default_value = "CONTROLLER://127.0.0.1:9093",
              .doc = "where brokers and the other voters reach this controller: NAME://host:port"});
    s.Define({.name = "listener.security.protocol.map", .type = Type::kString,
              .default_value = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL",
              .doc = "listener name -> security protocol; the controller listener may be PLAINTEXT or SSL"});
    net::DefineTlsProperties(s);
    s.Define({.name = "admin.listeners", .type = Type::kString, .default_value = "",
              .doc = "admin HTTP listener (/healthz, /readyz, /metrics) as http://host:port; empty: none"});
    s.Define({.name = "controller.quorum.voters", .type = Type::kString, .default_value = "",
              .doc = "the quorum's voters as id@host:port,... (1, 3 or 5); empty: this controller alone, at its "
                     "listener"});
    s.Define({.name = "controller.quorum.election.timeout.ms", .type = Type::kInt, .default_value = "500",
              .doc = "a voter that hears nothing from a leader for a random time between this and twice this "
                     "starts an election",
              .min = 100});
    s.Define({.name = "metadata.log.dir", .type = Type::kString, .default_value = "/tmp/sluice-controller",
              .doc = "directory of the Raft log, its hard state and snapshots (RocksDB)"});
    s.Define({.name = "metadata.log.max.snapshot.interval.entries", .type = Type::kLong, .default_value = "10000",
              .doc = "snapshot the metadata image and drop the log before it after this many applied entries; it "
                     "is also how many recent entries are kept in memory for brokers (further behind: the image)",
              .min = 1});
    s.Define({.name = "broker.session.timeout.ms", .type = Type::kLong, .default_value = "9000",
              .doc = "a broker that has not heartbeaten for this long is fenced", .min = 100});
    s.Define({.name = "unclean.leader.election.enable", .type = Type::kBool, .default_value = "false",
              .doc = "cluster default of the topic config: elect a live replica outside the ISR when no ISR "
                     "member is live"});
    s.Define({.name = "auto.leader.rebalance.enable", .type = Type::kBool, .default_value = "true",
              .doc = "periodically move leadership back to preferred replicas"});
    s.Define({.name = "leader.imbalance.check.interval.seconds", .type = Type::kLong, .default_value = "300",
              .doc = "how often the leader rebalance runs", .min = 1});
    s.Define({.name = "leader.imbalance.per.broker.percentage", .type = Type::kInt, .default_value = "10",
              .doc = "rebalance a broker's partitions when more than this share of those it prefers are led "
                     "elsewhere",
              .min = 0, .max = 100});
    s.Define({.name = "scram.bootstrap.credentials", .type = Type::kString, .default_value = "",
              .doc = "SCRAM users a new cluster starts with, as kafka-storage format --add-scram takes them: "
                     "MECHANISM=[name=NAME,password=PASSWORD(,iterations=N)] entries separated by ';'; written "
                     "once, by the first controller leader of a new metadata log"});
    s.Define({.name = "log.level", .type = Type::kString, .default_value = "info", .doc = "debug, info, warn or error",
              .allowed_values = {"debug", "info", "warn", "error"}});
    return s;
  }();
  return schema;
}

}  // namespace sluice::controller
