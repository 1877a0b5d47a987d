"""SASL/SCRAM (SCRAM-SHA-256 and SCRAM-SHA-512) on a SASL_PLAINTEXT listener, with real clients:
the controller bootstraps the first user from scram.bootstrap.credentials, users are created,
changed, listed and deleted online (DescribeUserScramCredentials / AlterUserScramCredentials over
raw frames: no installed client has those calls), librdkafka (confluent-kafka), kcat, kafkajs
and kafka-python (SaslHandshake v0, bare tokens) produce and consume with both mechanisms, wrong
passwords and unknown users get Kafka's refusal while the broker keeps serving, a deleted user
cannot log in, credentials outlive restarts that rebuild from snapshots (the bootstrap is not
written again), and three brokers replicate with SCRAM-SHA-512 between them."""
import json
import os
import subprocess
import unittest

import kafka.errors
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer

import kafka_wire
import scram_wire
from harness import Cluster, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
JS_ROUNDTRIP = os.path.join(HERE, "js", "roundtrip.js")
BOOTSTRAP_USERS = "SCRAM-SHA-512=[name=admin,password=admin-secret];SCRAM-SHA-256=[name=admin,password=admin-secret]"
JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";'
UNACCEPTABLE_CREDENTIAL, UNSUPPORTED_SASL_MECHANISM, RESOURCE_NOT_FOUND, DUPLICATE_RESOURCE = 93, 33, 91, 92
SASL_AUTHENTICATION_FAILED = 58
SHA256, SHA512 = "SCRAM-SHA-256", "SCRAM-SHA-512"


def refusal(mechanism):
    return f"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"


def scram_cluster(brokers=1, audit_file=None):
    overrides = {"sasl.jaas.config": JAAS, "sasl.enabled.mechanisms": f"{SHA256},{SHA512}",
                 "sasl.mechanism.inter.broker.protocol": SHA512, "default.replication.factor": str(brokers),
                 "offsets.topic.replication.factor": str(brokers)}
    if audit_file:
        overrides["audit.log.file"] = audit_file
    cluster = Cluster(brokers=brokers, controllers=1, broker_overrides=overrides,
                      controller_overrides={"scram.bootstrap.credentials": BOOTSTRAP_USERS})
    for broker, port in zip(cluster.brokers, cluster.broker_ports):
        broker.argv += ["--override", f"listeners=SASL_PLAINTEXT://127.0.0.1:{port}"]
    return cluster


def client_config(cluster, user, password, mechanism):
    return {"bootstrap.servers": cluster.bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password}


def admin_connection(cluster, broker=0):
    conn = kafka_wire.Connection(cluster.broker_ports[broker])
    scram_wire.log_in(conn, SHA512, "admin", "admin-secret")
    return conn


def login_error(cluster, user, password, mechanism):
    """The error librdkafka reports for a login, or None once a request was answered."""
    errors = []
    producer = Producer({**client_config(cluster, user, password, mechanism),
                         "error_cb": lambda error: errors.append(error)})

    def answered_or_refused():
        producer.poll(0.1)  # serves error_cb
        if errors:
            return True
        try:
            producer.list_topics(timeout=0.5)
        except Exception:  # noqa: BLE001 - no answer yet while the login is retried or refused
            return False
        return True
    wait_until(answered_or_refused, 30, f"a login of {user} with {mechanism} to succeed or fail")
    return errors[0] if errors else None


class SaslScramTest(unittest.TestCase):
    def test_users_managed_online_and_every_client_logs_in_with_both_mechanisms(self):
        cluster = scram_cluster()
        audit_file = os.path.join(cluster.dir, "audit.log")
        cluster.brokers[0].argv += ["--override", f"audit.log.file={audit_file}"]
        with cluster:
            admin = admin_connection(cluster)
            # The bootstrap user exists with both mechanisms, Kafka's default iterations.
            self.assertEqual(scram_wire.describe(admin), {"admin": (0, {1: 4096, 2: 4096})})

            results = scram_wire.alter(admin, upsertions=[("alice", SHA256, 8192, "alice-secret"),
                                                          ("bob", SHA512, 4096, "bob-secret")])
            self.assertEqual(results, [("alice", 0, None), ("bob", 0, None)])
            self.assertEqual(scram_wire.alter(admin, upsertions=[("alice", SHA512, 4096, "alice-secret")]),
                             [("alice", 0, None)])
            # Kafka's refusals, each on its own user.
            refused = scram_wire.alter(
                admin, upsertions=[("", SHA256, 4096, "x"), ("carol", SHA256, 100, "x"),
                                   ("dave", SHA256, 20000, "x"), ("erin", 0, 4096, "x"),
                                   ("frank", SHA256, 4096, "x"), ("frank", SHA512, 4096, "x")],
                deletions=[("nobody", SHA256)])
            self.assertEqual({user: error for user, error, _ in refused},
                             {"nobody": RESOURCE_NOT_FOUND, "": UNACCEPTABLE_CREDENTIAL,
                              "carol": UNACCEPTABLE_CREDENTIAL, "dave": UNACCEPTABLE_CREDENTIAL,
                              "erin": UNSUPPORTED_SASL_MECHANISM, "frank": DUPLICATE_RESOURCE})
            self.assertEqual(scram_wire.describe(admin, ["alice", "bob"]),
                             {"alice": (0, {1: 8192, 2: 4096}), "bob": (0, {2: 4096})})
            named = scram_wire.describe(admin, ["nobody", "bob", "bob"])
            self.assertEqual((named["nobody"][0], named["bob"][0]), (RESOURCE_NOT_FOUND, DUPLICATE_RESOURCE))
            self.assertEqual(sorted(scram_wire.describe(admin)), ["admin", "alice", "bob"])
            self.assertEqual(scram_wire.describe(admin, []), scram_wire.describe(admin))  # empty: all, as null

            alice256 = client_config(cluster, "alice", "alice-secret", SHA256)
            alice512 = client_config(cluster, "alice", "alice-secret", SHA512)
            topics = AdminClient(alice256)
            topics.create_topics([NewTopic("scram", 1, 1)])["scram"].result(30)
            for config, prefix in ((alice256, "a"), (alice512, "b")):
                producer = Producer({**config, "acks": "all"})
                for i in range(10):
                    producer.produce("scram", value=f"{prefix}{i}".encode())
                self.assertEqual(producer.flush(30), 0)
            consumer = Consumer({**client_config(cluster, "bob", "bob-secret", SHA512), "group.id": "scram-readers",
                                 "auto.offset.reset": "earliest"})
            consumer.subscribe(["scram"])
            seen = []
            wait_until(lambda: seen.extend(m.value() for m in consumer.consume(20, 0.5) if not m.error())
                       or len(seen) >= 20, 60, "20 records read over SASL/SCRAM")
            consumer.close()
            self.assertEqual(len(seen), 20)

            for mechanism in (SHA256, SHA512):
                listed = subprocess.run(["kcat", "-b", cluster.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                                         "-X", f"sasl.mechanisms={mechanism}", "-X", "sasl.username=alice",
                                         "-X", "sasl.password=alice-secret", "-C", "-t", "scram", "-e", "-q"],
                                        capture_output=True, text=True, timeout=60)
                self.assertEqual(listed.returncode, 0, listed.stderr)
                self.assertTrue({f"{p}{i}" for p in "ab" for i in range(10)} <= set(listed.stdout.splitlines()))

                js = subprocess.run(["node", JS_ROUNDTRIP, cluster.bootstrap, f"scram-js-{mechanism[-3:]}", "100"],
                                    capture_output=True, text=True, timeout=120,
                                    env={**os.environ, "SLUICE_SASL_USER": "alice",
                                         "SLUICE_SASL_PASSWORD": "alice-secret",
                                         "SLUICE_SASL_MECHANISM": mechanism.lower()})
                self.assertEqual(js.returncode, 0, js.stdout + js.stderr)

                # kafka-python 2.0: SaslHandshake v0, then the SCRAM messages as bare frames.
                legacy = KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_PLAINTEXT",
                                       sasl_mechanism=mechanism, sasl_plain_username="alice",
                                       sasl_plain_password="alice-secret")
                legacy.send("scram", f"kafka-python {mechanism}".encode()).get(timeout=30)
                legacy.close()
                reader = KafkaConsumer("scram", bootstrap_servers=cluster.bootstrap,
                                       security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
                                       sasl_plain_username="alice", sasl_plain_password="alice-secret",
                                       auto_offset_reset="earliest", consumer_timeout_ms=10000)
                values = [m.value for m in reader]
                reader.close()
                self.assertIn(f"kafka-python {mechanism}".encode(), values)
                with self.assertRaises(kafka.errors.KafkaError):
                    KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_PLAINTEXT",
                                  sasl_mechanism=mechanism, sasl_plain_username="alice",
                                  sasl_plain_password="wrong", api_version=(2, 0),
                                  max_block_ms=5000).send("scram", b"never").get(timeout=10)

            # Wrong password, unknown user, a mechanism the user has no credential for: librdkafka's,
            # kcat's and kafkajs's authentication error with Kafka's message; others keep being served.
            for user, password, mechanism in (("alice", "wrong", SHA256), ("mallory", "x", SHA512),
                                              ("bob", "bob-secret", SHA256)):
                error = login_error(cluster, user, password, mechanism)
                self.assertIsNotNone(error, f"{user} logged in with {mechanism}")
                self.assertEqual(error.code(), KafkaError._AUTHENTICATION)
                self.assertIn(refusal(mechanism), error.str())
            self.assertIsNone(login_error(cluster, "alice", "alice-secret", SHA256))
            refused = subprocess.run(["kcat", "-b", cluster.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                                      "-X", f"sasl.mechanisms={SHA512}", "-X", "sasl.username=alice",
                                      "-X", "sasl.password=wrong", "-L", "-m", "3"],
                                     capture_output=True, text=True, timeout=60)
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn(refusal(SHA512), refused.stderr)
            js = subprocess.run(["node", JS_ROUNDTRIP, cluster.bootstrap, "scram-js-refused", "1"],
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, "SLUICE_SASL_USER": "mallory", "SLUICE_SASL_PASSWORD": "x",
                                     "SLUICE_SASL_MECHANISM": "scram-sha-256"})
            self.assertNotEqual(js.returncode, 0)
            self.assertIn(f"KafkaJSSASLAuthenticationError: SASL SCRAM SHA256 authentication failed: {refusal(SHA256)}",
                          js.stderr)

            # Raw frames: a wrong proof gets SASL_AUTHENTICATION_FAILED with Kafka's message, then the close.
            conn = kafka_wire.Connection(cluster.broker_ports[0])
            with self.assertRaises(scram_wire.LoginFailed) as failed:
                scram_wire.log_in(conn, SHA256, "alice", "alice-secret", proof_of="guess")
            self.assertEqual((failed.exception.error_code, failed.exception.message),
                             (SASL_AUTHENTICATION_FAILED, refusal(SHA256)))
            self.assertTrue(conn.closed_by_peer())
            conn.close()

            # A changed password applies at once; a deleted credential no longer logs in.
            self.assertEqual(scram_wire.alter(admin, upsertions=[("alice", SHA256, 4096, "alice-new")]),
                             [("alice", 0, None)])
            self.assertIsNotNone(login_error(cluster, "alice", "alice-secret", SHA256))
            self.assertIsNone(login_error(cluster, "alice", "alice-new", SHA256))
            self.assertEqual(scram_wire.alter(admin, deletions=[("alice", SHA256)]), [("alice", 0, None)])
            self.assertIsNotNone(login_error(cluster, "alice", "alice-new", SHA256))
            self.assertIsNone(login_error(cluster, "alice", "alice-secret", SHA512))
            self.assertEqual(scram_wire.alter(admin, deletions=[("alice", SHA512)]), [("alice", 0, None)])
            self.assertEqual(scram_wire.describe(admin, ["alice"])["alice"][0], RESOURCE_NOT_FOUND)
            self.assertIsNotNone(login_error(cluster, "alice", "alice-secret", SHA512))
            admin.close()

            def audited():
                with open(audit_file) as f:
                    return [json.loads(line) for line in f]
            alterations = [r for r in audited() if r["api"] == "AlterUserScramCredentials"]
            self.assertTrue(all(r["principal"] == "User:admin" for r in alterations))
            self.assertIn(("alice", "NONE"), {(r["resource"], r["result"]) for r in alterations})
            self.assertIn(("frank", "DUPLICATE_RESOURCE"), {(r["resource"], r["result"]) for r in alterations})
            logins = {(r["resource"], r["result"]) for r in audited() if r["api"] == "SaslAuthenticate"}
            self.assertTrue({("alice", "NONE"), ("alice", "SASL_AUTHENTICATION_FAILED"),
                             ("mallory", "SASL_AUTHENTICATION_FAILED")} <= logins)

    def test_credentials_survive_restarts_from_snapshots_and_the_bootstrap_is_written_once(self):
        cluster = scram_cluster()
        # A snapshot after every entry: the restarted controller and broker rebuild from one.
        cluster.controller.argv += ["--override", "metadata.log.max.snapshot.interval.entries=1"]
        with cluster:
            admin = admin_connection(cluster)
            self.assertEqual(scram_wire.alter(admin, upsertions=[("carol", SHA256, 8192, "carol-secret")]),
                             [("carol", 0, None)])
            admin.close()
            cluster.stop()
            # A changed bootstrap property does nothing to a metadata log that is not new.
            cluster.controller.argv += ["--override",
                                        "scram.bootstrap.credentials=SCRAM-SHA-256=[name=intruder,password=x]"]
            cluster.start()
            self.assertIn("from a snapshot", cluster.controller.log())
            admin = admin_connection(cluster)
            self.assertEqual(scram_wire.describe(admin),
                             {"admin": (0, {1: 4096, 2: 4096}), "carol": (0, {1: 8192})})
            admin.close()
            conn = kafka_wire.Connection(cluster.broker_ports[0])
            scram_wire.log_in(conn, SHA256, "carol", "carol-secret")
            conn.close()

    def test_three_brokers_replicate_with_scram_between_them(self):
        with scram_cluster(brokers=3) as cluster:
            admin = admin_connection(cluster, broker=1)
            self.assertEqual(scram_wire.alter(admin, upsertions=[("writer", SHA256, 4096, "w")]),
                             [("writer", 0, None)])
            admin.close()
            # The answering broker has applied the change; the others apply the same metadata soon.
            config = client_config(cluster, "writer", "w", SHA256)

            def known_to(broker):
                conn = admin_connection(cluster, broker)
                try:
                    return "writer" in scram_wire.describe(conn)
                finally:
                    conn.close()
            wait_until(lambda: all(known_to(b) for b in range(3)), 30, "every broker to know the new user")
            client = AdminClient(config)
            client.create_topics([NewTopic("replicated", 3, 3, config={"min.insync.replicas": "3"})])["replicated"].result(30)
            # acks=all with min.insync.replicas 3: every follower must have fetched, logged in with SCRAM.
            producer = Producer({**config, "acks": "all"})
            for i in range(30):
                producer.produce("replicated", value=b"v", partition=i % 3)
            self.assertEqual(producer.flush(30), 0)

            def all_in_sync():
                topic = client.list_topics("replicated", timeout=10).topics["replicated"]
                return all(len(p.isrs) == 3 for p in topic.partitions.values())
            wait_until(all_in_sync, 30, "every follower in sync with SCRAM-SHA-512 between brokers")
            consumer = Consumer({**config, "group.id": "r", "enable.auto.commit": False})
            high = [consumer.get_watermark_offsets(TopicPartition("replicated", p), timeout=10)[1] for p in range(3)]
            consumer.close()
            self.assertEqual(sum(high), 30)


if __name__ == "__main__":
    unittest.main()
