// kafkajs admin against Sluice. Mode 'start': starts a partition reassignment, lists it (the
// new replicas are adding until they catch up, which needs replication) and checks that a bad
// target is refused. Mode 'expect-none': nothing is listed and partition 0 is back on broker 1
// (kafkajs cannot send a cancel, a null replica list, so the test sends that as a raw frame).
// Mode 'complete': moves partition 0 to the replicas given as a fourth argument (e.g. "2,3").
// Mode 'plan': applies a plan given as JSON ('{"0":[1,2,3],...}'), within a timeout in ms given
// as a fifth argument. Both wait (bounded) until the reassignment is done: nothing listed, the
// metadata shows exactly the target replicas, all in sync.
// Usage: node reassign.js BOOTSTRAP TOPIC MODE [REPLICAS | PLAN TIMEOUT_MS]
// ('start' and 'expect-none': partition 0 starts on broker 1 only).
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, mode, target, timeoutText] = process.argv.slice(2);

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

function same(a, b) {
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
}

async function main() {
  const kafka = new Kafka({ clientId: 'sluice-it', brokers: bootstrap.split(','), logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();

  if (mode === 'complete' || mode === 'plan') {
    const plan = mode === 'plan' ? JSON.parse(target) : { 0: target.split(',').map(Number) };
    const started = Date.now();
    const partitionAssignment = Object.entries(plan).map(([p, replicas]) => ({ partition: Number(p), replicas }));
    await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment }] });
    const deadline = started + (mode === 'plan' ? Number(timeoutText) : 60000);
    for (;;) {
      const listed = await admin.listPartitionReassignments({});
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const pending = meta.topics[0].partitions.filter((p) => {
        const replicas = plan[String(p.partitionId)];
        return replicas && !(same(p.replicas, replicas) && same(p.isr, replicas) && replicas.includes(p.leader));
      });
      if (listed.topics.length === 0 && pending.length === 0) break;
      if (Date.now() > deadline) fail(`the move to ${target} did not complete: ${JSON.stringify({ listed, pending })}`);
      await new Promise((resolve) => setTimeout(resolve, 100));  // polling a bounded condition
    }
    await admin.disconnect();
    console.log(mode === 'plan' ? `OK kafkajs applied the plan in ${Date.now() - started} ms`
                                : `OK kafkajs moved ${topic}-0 to ${target}`);
    return;
  }
  if (mode === 'expect-none') {
    const none = await admin.listPartitionReassignments({});
    if (none.topics.length !== 0) fail(`reassignments still listed: ${JSON.stringify(none)}`);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const p0 = meta.topics[0].partitions.find((p) => p.partitionId === 0);
    if (!same(p0.replicas, [1])) fail(`the cancel did not revert the replicas: ${JSON.stringify(p0)}`);
    await admin.disconnect();
    console.log('OK kafkajs lists no reassignment');
    return;
  }
  await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }] });
  const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0, 1] }] });
  if (listed.topics.length !== 1 || listed.topics[0].partitions.length !== 1) fail(`expected one ongoing: ${JSON.stringify(listed)}`);
  const ongoing = listed.topics[0].partitions[0];
  if (ongoing.partition !== 0 || !same(ongoing.replicas, [1, 2, 3]) || !same(ongoing.addingReplicas, [2, 3]) ||
      ongoing.removingReplicas.length !== 0) {
    fail(`unexpected reassignment state ${JSON.stringify(ongoing)}`);
  }
  const all = await admin.listPartitionReassignments({});
  if (all.topics.length !== 1) fail(`listing everything: ${JSON.stringify(all)}`);

  let refused = null;
  try {
    await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 1, replicas: [2, 99] }] }] });
  } catch (e) {
    refused = e;
  }
  const text = refused ? JSON.stringify(refused.errors || refused.message) + String(refused.type || '') : '';
  if (!refused || !/INVALID_REPLICA_ASSIGNMENT/.test(text + String(refused))) fail(`a target naming broker 99 was not refused: ${text}`);
  await admin.disconnect();
  console.log('OK kafkajs reassignment started, listed and refused as Kafka does');
}

main().catch((e) => fail(e.stack || String(e)));
