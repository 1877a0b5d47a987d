"""SASL/OAUTHBEARER with JWTs checked against a JWKS file, with real clients: confluent-kafka
(oauth_cb), kafkajs (oauthBearerProvider) and kafka-python (a token provider) log in with tokens
signed here (RSA and EC keys made with python3-cryptography); an expired token, a token for
another audience, a token signed by a key outside the JWKS and librdkafka's unsecured token
(kcat) are refused while the broker keeps serving; a key added to the JWKS file is picked up
without a restart; the audit log names the token's subject."""
import base64
import json
import os
import struct
import subprocess
import tempfile
import time
import unittest

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
import kafka.errors
from kafka import KafkaProducer
from kafka.oauth.abstract import AbstractTokenProvider

import kafka_wire
from harness import Cluster, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
JS_ROUNDTRIP = os.path.join(HERE, "js", "roundtrip.js")
ISSUER = "https://issuer.sluice.test"
AUDIENCE = "kafka"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(value, size=None):
    return value.to_bytes(size or (value.bit_length() + 7) // 8, "big")


class Issuer:
    """Signing keys and their JWKS."""

    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())

    def jwk(self, which):
        if which == "rsa":
            numbers = self.rsa.public_key().public_numbers()
            return {"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": b64url(int_bytes(numbers.n)),
                    "e": b64url(int_bytes(numbers.e))}
        numbers = self.ec.public_key().public_numbers()
        return {"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": b64url(int_bytes(numbers.x, 32)),
                "y": b64url(int_bytes(numbers.y, 32))}

    def token(self, subject="alice", which="rsa", lifetime=600, audience=AUDIENCE, key=None):
        header = {"alg": "RS256" if which == "rsa" else "ES256", "kid": f"{which}-1", "typ": "JWT"}
        now = int(time.time())
        claims = {"sub": subject, "iss": ISSUER, "aud": audience, "iat": now, "exp": now + lifetime}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
        if which == "rsa":
            signature = (key or self.rsa).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = utils.decode_dss_signature((key or self.ec).sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = int_bytes(r, 32) + int_bytes(s, 32)
        return signing_input.decode() + "." + b64url(signature), now + lifetime


class TokenProvider(AbstractTokenProvider):
    def __init__(self, token):
        super().__init__()
        self._token = token

    def token(self):
        return self._token


def oauth_cluster(jwks_path, audit_file):
    overrides = {"sasl.enabled.mechanisms": "OAUTHBEARER,PLAIN",
                 "sasl.oauthbearer.jwks.endpoint.url": f"file://{jwks_path}",
                 "sasl.oauthbearer.expected.issuer": ISSUER, "sasl.oauthbearer.expected.audience": AUDIENCE,
                 # The brokers' own logins (followers) use PLAIN.
                 "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required '
                                     'username="broker" password="broker-secret" user_broker="broker-secret";',
                 "audit.log.file": audit_file}
    cluster = Cluster(brokers=1, controllers=1, broker_overrides=overrides)
    for broker, port in zip(cluster.brokers, cluster.broker_ports):
        broker.argv += ["--override", f"listeners=SASL_PLAINTEXT://127.0.0.1:{port}"]
    return cluster


def client_config(cluster, token_source):
    def oauth_cb(_config):
        return token_source()
    return {"bootstrap.servers": cluster.bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "OAUTHBEARER", "oauth_cb": oauth_cb}


def admin_client(config):
    """An AdminClient whose oauth_cb has run: librdkafka asks for the token through poll()."""
    admin = AdminClient(config)
    admin.poll(1)
    return admin


def refused(config, what):
    admin = admin_client({**config, "socket.timeout.ms": 3000})
    try:
        admin.list_topics(timeout=4)
    except KafkaException:
        return
    raise AssertionError(f"{what}: the client was served")


class OAuthBearerTest(unittest.TestCase):
    def test_signed_tokens_log_in_and_bad_ones_are_refused(self):
        issuer = Issuer()
        workdir = tempfile.mkdtemp(prefix="sluice-oauth-")
        jwks_path = os.path.join(workdir, "jwks.json")
        with open(jwks_path, "w") as f:
            json.dump({"keys": [issuer.jwk("rsa")]}, f)
        audit_file = os.path.join(workdir, "audit.log")
        cluster = oauth_cluster(jwks_path, audit_file)
        with cluster:
            config = client_config(cluster, lambda: issuer.token())
            admin = admin_client(config)
            admin.create_topics([NewTopic("oauth", 1, 1)])["oauth"].result(30)
            producer = Producer({**config, "acks": "all"})
            for i in range(20):
                producer.produce("oauth", value=f"o{i}".encode())
            self.assertEqual(producer.flush(30), 0)
            consumer = Consumer({**config, "group.id": "oauth-readers", "auto.offset.reset": "earliest"})
            consumer.subscribe(["oauth"])
            seen = []
            wait_until(lambda: seen.extend(m.value() for m in consumer.consume(20, 0.5) if not m.error())
                       or len(seen) >= 20, 60, "20 records read with an OAUTHBEARER login")
            consumer.close()

            token, _ = issuer.token(subject="bob")
            legacy = KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_PLAINTEXT",
                                   sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=TokenProvider(token))
            legacy.send("oauth", b"from kafka-python").get(timeout=30)
            legacy.close()

            token, _ = issuer.token(subject="carol")
            js = subprocess.run(["node", JS_ROUNDTRIP, cluster.bootstrap, "oauth-js", "200"], capture_output=True,
                                text=True, timeout=120, env={**os.environ, "SLUICE_OAUTH_TOKEN": token})
            self.assertEqual(js.returncode, 0, js.stdout + js.stderr)

            # librdkafka will not send an expired token: kafka-python does, and raw frames show the answer.
            expired, _ = issuer.token(lifetime=-120)
            with self.assertRaises(kafka.errors.KafkaError):
                KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_PLAINTEXT",
                              sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=TokenProvider(expired),
                              api_version_auto_timeout_ms=5000).send("oauth", b"x").get(timeout=10)
            conn = kafka_wire.Connection(cluster.broker_ports[0])
            conn.send(kafka_wire.request(17, 1, 1, kafka_wire.string("OAUTHBEARER")))
            conn.receive()
            message = f"n,,\x01auth=Bearer {expired}\x01\x01".encode()
            conn.send(kafka_wire.request(36, 1, 2, struct.pack(">i", len(message)) + message))
            answer = conn.receive()
            self.assertEqual(struct.unpack(">ih", answer[:6]), (2, 58))  # SASL_AUTHENTICATION_FAILED
            self.assertIn(b"Authentication failed: invalid_token", answer)
            self.assertTrue(conn.closed_by_peer())
            refused(client_config(cluster, lambda: issuer.token(audience="elsewhere")), "a token for another audience")
            stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            refused(client_config(cluster, lambda: issuer.token(key=stranger)), "a token signed outside the JWKS")
            refused(client_config(cluster, lambda: issuer.token(which="ec")), "a key not yet in the JWKS")
            # librdkafka's built-in token is unsigned ("alg":"none"): a broker must not trust it.
            kcat = subprocess.run(["kcat", "-b", cluster.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                                   "-X", "sasl.mechanisms=OAUTHBEARER", "-X", "sasl.oauthbearer.config=principal=admin",
                                   "-X", "enable.sasl.oauthbearer.unsecure.jwt=true", "-L", "-m", "5"],
                                  capture_output=True, text=True, timeout=60)
            self.assertNotEqual(kcat.returncode, 0, kcat.stdout)
            self.assertIn("oauth", admin_client(config).list_topics(timeout=10).topics)

            # A key added to the JWKS file counts without a restart.
            staged = jwks_path + ".new"
            with open(staged, "w") as f:
                json.dump({"keys": [issuer.jwk("rsa"), issuer.jwk("ec")]}, f)
            os.replace(staged, jwks_path)

            def ec_token_accepted():
                try:
                    admin_client({**client_config(cluster, lambda: issuer.token(which="ec")),
                                  "socket.timeout.ms": 3000}).list_topics(timeout=4)
                    return True
                except KafkaException:
                    return False
            wait_until(ec_token_accepted, 20, "the EC key added to the JWKS file to be accepted")

            def audited():
                with open(audit_file) as f:
                    lines = [json.loads(line) for line in f if line.strip()]
                logins = {(l["principal"], l["result"]) for l in lines if l["api"] == "SaslAuthenticate"}
                creations = [l for l in lines if l["api"] == "CreateTopics" and l["resource"] == "oauth"]
                return (("User:alice", "NONE") in logins and ("User:bob", "NONE") in logins
                        and any(r == "SASL_AUTHENTICATION_FAILED" for _, r in logins)
                        and creations and creations[0]["principal"] == "User:alice")
            wait_until(audited, 15, "audit lines naming the tokens' subjects and the refusals")


if __name__ == "__main__":
    unittest.main()
