/* ACLs through librdkafka's Admin API (rd_kafka_CreateAcls, _DescribeAcls, _DeleteAcls): the
 * client confluent-kafka's AdminClient wraps (Debian's python3-confluent-kafka 1.7 has no ACL
 * calls yet). Prints one line per result, errors by librdkafka's error names, so a test sees
 * what an application would.
 *
 *   rdkafka-acls BOOTSTRAP USER PASSWORD create  (RESTYPE NAME PATTERN PRINCIPAL HOST OP PERM)...
 *   rdkafka-acls BOOTSTRAP USER PASSWORD describe RESTYPE NAME PATTERN PRINCIPAL HOST OP PERM
 *   rdkafka-acls BOOTSTRAP USER PASSWORD delete  (RESTYPE NAME PATTERN PRINCIPAL HOST OP PERM)...
 *
 * Names as Kafka spells them (TOPIC, GROUP, CLUSTER, PREFIXED, READ, ALLOW, ANY, ...); in a
 * filter "-" is an absent name, principal or host. USER "-" connects without SASL.
 * Output: create "RESULT OK" | "RESULT ERROR <name> <message>"; describe "ACL <fields>" lines
 * or "ERROR <name> <message>"; delete "FILTER OK <count>" then its "ACL" lines, or
 * "FILTER ERROR <name> <message>". Exit 0 once every result was printed, 2 on usage or
 * client failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static const char *kResourceTypes[] = {"UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER"};
static const char *kPatterns[] = {"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"};
static const char *kOperations[] = {"UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER",
                                    "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS",
                                    "IDEMPOTENT_WRITE"};
static const char *kPermissions[] = {"UNKNOWN", "ANY", "DENY", "ALLOW"};

static int code_of(const char *name, const char **names, int count) {
  for (int i = 0; i < count; i++) {
    if (strcmp(name, names[i]) == 0) return i;
  }
  fprintf(stderr, "unknown name %s\n", name);
  exit(2);
}

#define CODE(name, table) code_of(name, table, (int)(sizeof(table) / sizeof(table[0])))

static const char *optional(const char *arg) { return strcmp(arg, "-") == 0 ? NULL : arg; }

static void print_acl(const rd_kafka_AclBinding_t *acl) {
  printf("ACL %s %s %s %s %s %s %s\n", kResourceTypes[rd_kafka_AclBinding_restype(acl)],
         rd_kafka_AclBinding_name(acl), kPatterns[rd_kafka_AclBinding_resource_pattern_type(acl)],
         rd_kafka_AclBinding_principal(acl), rd_kafka_AclBinding_host(acl),
         kOperations[rd_kafka_AclBinding_operation(acl)], kPermissions[rd_kafka_AclBinding_permission_type(acl)]);
}

static void print_error(const char *prefix, const rd_kafka_error_t *error) {
  printf("%sERROR %s %s\n", prefix, rd_kafka_err2name(rd_kafka_error_code(error)), rd_kafka_error_string(error));
}

/* args: 7 strings; filter: absent strings allowed. */
static rd_kafka_AclBinding_t *binding_of(char **args, int filter) {
  char errstr[512];
  rd_kafka_AclBinding_t *acl =
      (filter ? rd_kafka_AclBindingFilter_new : rd_kafka_AclBinding_new)(
          CODE(args[0], kResourceTypes), filter ? optional(args[1]) : args[1], CODE(args[2], kPatterns),
          filter ? optional(args[3]) : args[3], filter ? optional(args[4]) : args[4], CODE(args[5], kOperations),
          CODE(args[6], kPermissions), errstr, sizeof(errstr));
  if (!acl) {
    /* librdkafka refuses some bindings itself, before any request: report it as a result. */
    printf("RESULT LOCAL_ERROR %s\n", errstr);
  }
  return acl;
}

int main(int argc, char **argv) {
  if (argc < 5 || (argc - 5) % 7 != 0 || argc == 5) {
    fprintf(stderr, "usage: rdkafka-acls BOOTSTRAP USER PASSWORD create|describe|delete (7 fields)...\n");
    return 2;
  }
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof(errstr));
  if (strcmp(argv[2], "-") != 0) {
    rd_kafka_conf_set(conf, "security.protocol", "SASL_PLAINTEXT", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "sasl.mechanisms", "PLAIN", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "sasl.username", argv[2], errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "sasl.password", argv[3], errstr, sizeof(errstr));
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 2;
  }
  const char *command = argv[4];
  const int count = (argc - 5) / 7;
  rd_kafka_AclBinding_t *acls[64];
  if (count > 64) return 2;
  int built = 0;
  for (int i = 0; i < count; i++) {
    rd_kafka_AclBinding_t *acl = binding_of(argv + 5 + 7 * i, strcmp(command, "create") != 0);
    if (acl) acls[built++] = acl;
  }
  int rc = 0;
  if (built > 0) {
    rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
    rd_kafka_AdminOptions_set_request_timeout(options, 20000, errstr, sizeof(errstr));
    if (strcmp(command, "create") == 0) {
      rd_kafka_CreateAcls(rk, acls, (size_t)built, options, queue);
    } else if (strcmp(command, "describe") == 0 && built == 1) {
      rd_kafka_DescribeAcls(rk, acls[0], options, queue);
    } else if (strcmp(command, "delete") == 0) {
      rd_kafka_DeleteAcls(rk, acls, (size_t)built, options, queue);
    } else {
      fprintf(stderr, "unknown command %s\n", command);
      return 2;
    }
    rd_kafka_event_t *event = rd_kafka_queue_poll(queue, 30000);
    if (!event) {
      fprintf(stderr, "no result within 30 s\n");
      rc = 2;
    } else if (rd_kafka_event_error(event)) {
      printf("ERROR %s %s\n", rd_kafka_err2name(rd_kafka_event_error(event)), rd_kafka_event_error_string(event));
    } else if (strcmp(command, "create") == 0) {
      size_t n;
      const rd_kafka_acl_result_t **results =
          rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(event), &n);
      for (size_t i = 0; i < n; i++) {
        const rd_kafka_error_t *error = rd_kafka_acl_result_error(results[i]);
        if (error) print_error("RESULT ", error);
        else printf("RESULT OK\n");
      }
    } else if (strcmp(command, "describe") == 0) {
      size_t n;
      const rd_kafka_AclBinding_t **found =
          rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(event), &n);
      for (size_t i = 0; i < n; i++) print_acl(found[i]);
    } else {
      size_t n;
      const rd_kafka_DeleteAcls_result_response_t **responses =
          rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(event), &n);
      for (size_t i = 0; i < n; i++) {
        const rd_kafka_error_t *error = rd_kafka_DeleteAcls_result_response_error(responses[i]);
        if (error) {
          print_error("FILTER ", error);
          continue;
        }
        size_t matched;
        const rd_kafka_AclBinding_t **acl = rd_kafka_DeleteAcls_result_response_matching_acls(responses[i], &matched);
        printf("FILTER OK %zu\n", matched);
        for (size_t j = 0; j < matched; j++) print_acl(acl[j]);
      }
    }
    if (event) rd_kafka_event_destroy(event);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_queue_destroy(queue);
  }
  for (int i = 0; i < built; i++) rd_kafka_AclBinding_destroy(acls[i]);
  rd_kafka_destroy(rk);
  return rc;
}
