// kafkajs admin.deleteTopicRecords against Sluice (what kafka-delete-records.sh does through the
// Java admin client). Prints "OK" when the records were deleted, or "ERROR <kafka error type>"
// for each partition the broker refused; any other failure exits 1.
// Usage: node delete_records.js BOOTSTRAP TOPIC PARTITION OFFSET
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, partition, offset] = process.argv.slice(2);

async function main() {
  const kafka = new Kafka({ clientId: 'sluice-it', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING,
                            retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // kafkajs looks the leader up in metadata it must have loaded first.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: Number(partition), offset }] });
    console.log('OK');
  } catch (caught) {
    // A non-retriable partition error comes wrapped by kafkajs' retrier.
    const e = caught.name === 'KafkaJSNonRetriableError' && caught.cause ? caught.cause : caught;
    if (e.name !== 'KafkaJSDeleteTopicRecordsError') throw caught;
    for (const p of e.partitions) console.log(`ERROR ${p.error.type || p.error.name}`);
  } finally {
    await admin.disconnect();
  }
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || String(e)}`);
  process.exit(1);
});
