// kafkajs producer and consumer against a Sluice broker: creates a topic, produces keyed
// messages (gzip and uncompressed) with an idempotent producer, consumes them back through a
// consumer group, and checks content, headers and per-key order.
// Usage: node roundtrip.js BOOTSTRAP TOPIC COUNT
// SLUICE_SASL_USER and SLUICE_SASL_PASSWORD: log in with SASL, with the mechanism
// SLUICE_SASL_MECHANISM names (kafkajs's: plain, scram-sha-256, scram-sha-512; plain by default).
// SLUICE_OAUTH_TOKEN: log in with SASL/OAUTHBEARER presenting that token.
// SLUICE_SSL_CA (a PEM file): connect with TLS trusting it; SLUICE_SSL_CERT and SLUICE_SSL_KEY:
// present that client certificate (mTLS).
'use strict';
const fs = require('fs');
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

const [bootstrap, topic, countText] = process.argv.slice(2);
const count = Number(countText || 5000);
const partitions = 4;
const deadlineMs = 60000;

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

async function main() {
  let sasl;
  if (process.env.SLUICE_SASL_USER) {
    sasl = { mechanism: process.env.SLUICE_SASL_MECHANISM || 'plain', username: process.env.SLUICE_SASL_USER,
             password: process.env.SLUICE_SASL_PASSWORD };
  } else if (process.env.SLUICE_OAUTH_TOKEN) {
    sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: process.env.SLUICE_OAUTH_TOKEN }) };
  }
  const env = process.env;
  const ssl = env.SLUICE_SSL_CA
    ? {
        ca: [fs.readFileSync(env.SLUICE_SSL_CA)],
        ...(env.SLUICE_SSL_CERT ? { cert: fs.readFileSync(env.SLUICE_SSL_CERT), key: fs.readFileSync(env.SLUICE_SSL_KEY) } : {}),
      }
    : undefined;
  const kafka = new Kafka({ clientId: 'sluice-it', brokers: bootstrap.split(','), logLevel: logLevel.ERROR, sasl, ssl });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: Number(process.env.SLUICE_TEST_REPLICATION || '1') }], waitForLeaders: true });
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  if (meta.topics[0].partitions.length !== partitions) fail(`expected ${partitions} partitions`);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const batchSize = 500;
  for (let start = 0; start < count; start += batchSize) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + batchSize); i++) {
      messages.push({ key: `key-${i % 13}`, value: `value-${i}`, headers: { n: String(i) } });
    }
    const compression = (start / batchSize) % 2 === 0 ? CompressionTypes.GZIP : CompressionTypes.None;
    await producer.send({ topic, messages, acks: -1, compression });
  }
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  if (total !== count) fail(`topic offsets add up to ${total}, expected ${count}`);

  // kafkajs consumes only through a consumer group (the group coordinator serves it).
  const consumer = kafka.consumer({ groupId: `roundtrip-${topic}` });
  const lastByKey = new Map();
  const values = new Set();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        const i = Number(String(message.value).slice('value-'.length));
        const key = String(message.key);
        if (key !== `key-${i % 13}`) reject(new Error(`message ${i} has key ${key}`));
        if (String(message.headers.n) !== String(i)) reject(new Error(`message ${i} lost its header`));
        if (lastByKey.has(key) && lastByKey.get(key) >= i) reject(new Error(`key ${key}: ${i} after ${lastByKey.get(key)}`));
        lastByKey.set(key, i);
        values.add(i);
        if (values.size === count) resolve();
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  await admin.disconnect();
  console.log(`OK kafkajs produced and consumed ${count} messages on ${topic}`);
}

const timer = setTimeout(() => fail(`no result within ${deadlineMs} ms`), deadlineMs);
main().then(() => clearTimeout(timer)).catch((error) => fail(error.stack || String(error)));
