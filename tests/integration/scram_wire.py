"""SCRAM over raw Kafka frames, for what no installed client offers: a SCRAM-SHA-256/512 login
on a kafka_wire.Connection (SaslHandshake v1, SaslAuthenticate v1, RFC 5802's client side), and
DescribeUserScramCredentials / AlterUserScramCredentials v0 (KIP-554). Debian's
python3-confluent-kafka 1.7 and kafka-python 2.0 have no SCRAM admin calls."""
import base64
import hashlib
import hmac
import os
import struct

import kafka_wire

MECHANISMS = {"SCRAM-SHA-256": (1, hashlib.sha256), "SCRAM-SHA-512": (2, hashlib.sha512)}
SASL_HANDSHAKE, SASL_AUTHENTICATE, DESCRIBE_SCRAM, ALTER_SCRAM = 17, 36, 50, 51


def salted_password(mechanism, password, salt, iterations):
    return hashlib.pbkdf2_hmac(MECHANISMS[mechanism][1]().name, password.encode(), salt, iterations)


class LoginFailed(Exception):
    def __init__(self, error_code, message):
        super().__init__(f"SaslAuthenticate: error {error_code}: {message}")
        self.error_code, self.message = error_code, message


def _authenticate(conn, correlation_id, token):
    conn.send(kafka_wire.request(SASL_AUTHENTICATE, 1, correlation_id, struct.pack(">i", len(token)) + token))
    answer = conn.receive()
    if answer is None:
        raise AssertionError("the broker closed the connection instead of answering SaslAuthenticate")
    r = kafka_wire.Reader(answer)
    assert r.take(">i") == correlation_id
    error, message = r.take(">h"), r.string()
    data = r.data[r.pos + 4:r.pos + 4 + r.take(">i")]
    return error, message, data


def log_in(conn, mechanism, user, password, proof_of=None):
    """Logs `conn` in; raises LoginFailed with the broker's error. `proof_of`: the password the
    proof is computed from (a wrong one to test refusals), `password` by default."""
    digest = MECHANISMS[mechanism][1]
    conn.send(kafka_wire.request(SASL_HANDSHAKE, 1, 1, kafka_wire.string(mechanism)))
    handshake = kafka_wire.Reader(conn.receive())
    assert handshake.take(">i") == 1
    assert handshake.take(">h") == 0, "SaslHandshake refused " + mechanism
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user.replace('=', '=3D').replace(',', '=2C')},r={nonce}"
    error, message, server_first = _authenticate(conn, 2, ("n,," + first_bare).encode())
    if error:
        raise LoginFailed(error, message)
    attributes = dict(part.split("=", 1) for part in server_first.decode().split(","))
    assert attributes["r"].startswith(nonce)
    salted = salted_password(mechanism, proof_of or password, base64.b64decode(attributes["s"]), int(attributes["i"]))
    without_proof = f"c=biws,r={attributes['r']}"
    auth_message = f"{first_bare},{server_first.decode()},{without_proof}".encode()
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    signature = hmac.new(digest(client_key).digest(), auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    error, message, server_final = _authenticate(
        conn, 3, f"{without_proof},p={base64.b64encode(proof).decode()}".encode())
    if error:
        raise LoginFailed(error, message)
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, digest).digest()).decode()
    assert server_final.decode() == "v=" + expected, "the broker's SCRAM signature is wrong"


def _call(conn, frame, correlation_id):
    conn.send(frame)
    answer = conn.receive()
    if answer is None:
        raise AssertionError("the broker closed the connection instead of answering")
    r = kafka_wire.Reader(answer)
    assert r.take(">i") == correlation_id
    r.skip_tags()  # response header v1
    return r


def describe(conn, users=None, correlation_id=10):
    """DescribeUserScramCredentials v0: {user: (error_code, {mechanism type: iterations})}."""
    if users is None:
        body = kafka_wire.uvarint(0)
    else:
        body = kafka_wire.uvarint(len(users) + 1) + b"".join(kafka_wire.compact_string(u) + b"\x00" for u in users)
    r = _call(conn, kafka_wire.flexible_request(DESCRIBE_SCRAM, 0, correlation_id, body + b"\x00"), correlation_id)
    r.take(">i")  # throttle
    assert r.take(">h") == 0
    r.compact_string()

    def credential():
        mechanism, iterations = r.take(">bi")
        r.skip_tags()
        return mechanism, iterations

    def result():
        user, error = r.compact_string(), r.take(">h")
        r.compact_string()
        infos = dict(r.compact_array(credential))
        r.skip_tags()
        return user, (error, infos)
    return dict(r.compact_array(result))


def alter(conn, upsertions=(), deletions=(), correlation_id=20):
    """AlterUserScramCredentials v0. upsertions: (user, mechanism name or type, iterations,
    password); deletions: (user, mechanism name or type). Returns [(user, error_code, message)]."""
    def mechanism_type(m):
        return MECHANISMS[m][0] if isinstance(m, str) else m
    body = kafka_wire.uvarint(len(deletions) + 1)
    for user, mechanism in deletions:
        body += kafka_wire.compact_string(user) + struct.pack(">b", mechanism_type(mechanism)) + b"\x00"
    body += kafka_wire.uvarint(len(upsertions) + 1)
    for user, mechanism, iterations, password in upsertions:
        salt = os.urandom(16)
        salted = salted_password(mechanism, password, salt, iterations) if isinstance(mechanism, str) else b"x" * 32
        body += (kafka_wire.compact_string(user) + struct.pack(">bi", mechanism_type(mechanism), iterations) +
                 kafka_wire.compact_string(salt) + kafka_wire.compact_string(salted) + b"\x00")
    r = _call(conn, kafka_wire.flexible_request(ALTER_SCRAM, 0, correlation_id, body + b"\x00"), correlation_id)
    r.take(">i")

    def result():
        user, error, message = r.compact_string(), r.take(">h"), r.compact_string()
        r.skip_tags()
        return user, error, message
    return r.compact_array(result)
