/* Creates a test topic through the Admin API unless the cluster already has it, and
 * waits until every partition has a leader. Shared by the client tests and the benchmark. */
#ifndef SLUICE_TESTS_INTEGRATION_CLIENTS_TOPIC_SETUP_H_
#define SLUICE_TESTS_INTEGRATION_CLIENTS_TOPIC_SETUP_H_

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ensures `topic` exists. An existing topic is used as it is (its partition count is
 * returned in *partition_count, which may differ from `partitions`); a missing one is
 * created with `partitions` partitions and `replication_factor` replicas
 * (TOPIC_ALREADY_EXISTS from a racing creator is fine). Looking first spares clusters
 * without a CreateTopics-capable controller (librdkafka's mock) when the topic was
 * pre-created. Returns 0 on success, -1 with a message in `err` otherwise. */
int sluice_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int replication_factor,
                        int timeout_ms, int *partition_count, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif
