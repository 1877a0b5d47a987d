#include "tests/integration/clients/topic_setup.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Looks the topic up in a full metadata request (a targeted request would make some
 * brokers, the mock included, auto-create it). Returns 1 when the topic exists with
 * a leader for every partition, 0 when it does not (yet), -1 on a metadata failure. */
static int lookup_topic(rd_kafka_t *rk, const char *topic, int timeout_ms, int *partition_count,
                        char *err, size_t err_size) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t rerr = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
  if (rerr) {
    snprintf(err, err_size, "metadata request failed: %s", rd_kafka_err2str(rerr));
    return -1;
  }
  int found = 0;
  for (int t = 0; t < md->topic_cnt; t++) {
    const rd_kafka_metadata_topic_t *mt = &md->topics[t];
    if (strcmp(mt->topic, topic) != 0 || mt->err || mt->partition_cnt == 0) continue;
    found = 1;
    for (int p = 0; p < mt->partition_cnt; p++) {
      if (mt->partitions[p].leader < 0) found = 0;
    }
    if (found) *partition_count = mt->partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return found;
}

static int create_topic(rd_kafka_t *rk, const char *topic, int partitions, int replication_factor,
                        int timeout_ms, char *err, size_t err_size) {
  char errstr[512];
  rd_kafka_NewTopic_t *new_topic =
      rd_kafka_NewTopic_new(topic, partitions, replication_factor, errstr, sizeof(errstr));
  if (!new_topic) {
    snprintf(err, err_size, "bad topic request: %s", errstr);
    return -1;
  }
  rd_kafka_AdminOptions_t *options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, errstr, sizeof(errstr));
  rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, errstr, sizeof(errstr));
  rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &new_topic, 1, options, queue);

  int rc = -1;
  /* The admin call carries its own timeout; the margin covers its delivery. */
  rd_kafka_event_t *event = rd_kafka_queue_poll(queue, timeout_ms + 5000);
  if (!event) {
    snprintf(err, err_size, "CreateTopics for %s got no result within %d ms", topic, timeout_ms);
  } else if (rd_kafka_event_error(event)) {
    snprintf(err, err_size, "CreateTopics for %s failed: %s", topic,
             rd_kafka_event_error_string(event));
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t **results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    rd_kafka_resp_err_t terr = count == 1 ? rd_kafka_topic_result_error(results[0])
                                          : RD_KAFKA_RESP_ERR__BAD_MSG;
    if (terr == RD_KAFKA_RESP_ERR_NO_ERROR || terr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      rc = 0;
    } else {
      const char *msg = count == 1 ? rd_kafka_topic_result_error_string(results[0]) : NULL;
      snprintf(err, err_size, "CreateTopics for %s failed: %s (%s)", topic, rd_kafka_err2name(terr),
               msg ? msg : rd_kafka_err2str(terr));
    }
  }
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(new_topic);
  return rc;
}

int sluice_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int replication_factor,
                        int timeout_ms, int *partition_count, char *err, size_t err_size) {
  int64_t deadline = monotonic_ms() + timeout_ms;
  int found = lookup_topic(rk, topic, timeout_ms, partition_count, err, err_size);
  if (found != 0) return found == 1 ? 0 : -1;
  if (create_topic(rk, topic, partitions, replication_factor, timeout_ms, err, err_size) != 0)
    return -1;
  /* Creation is acknowledged before every broker's metadata shows the leaders. */
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) break;
    found = lookup_topic(rk, topic, (int)left, partition_count, err, err_size);
    if (found == 1) return 0;
    if (found < 0) return -1;
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  snprintf(err, err_size, "topic %s created but not all partitions had a leader within %d ms",
           topic, timeout_ms);
  return -1;
}
