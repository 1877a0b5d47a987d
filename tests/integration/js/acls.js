// kafkajs' admin ACL calls against a Sluice broker with ACLs on: creates two ACLs for
// User:kjs, describes them, deletes them, and tries DescribeAcls as a user without DESCRIBE on
// the cluster. Prints one JSON line with what each call returned, for the Python test to check.
// Usage: node acls.js BOOTSTRAP ADMIN_USER ADMIN_PASSWORD OTHER_USER OTHER_PASSWORD
'use strict';
const {
  Kafka, logLevel, AclResourceTypes, ResourcePatternTypes, AclOperationTypes, AclPermissionTypes,
} = require('kafkajs');

const [bootstrap, adminUser, adminPassword, otherUser, otherPassword] = process.argv.slice(2);

function client(username, password) {
  return new Kafka({
    clientId: 'sluice-it-acls', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING,
    sasl: { mechanism: 'plain', username, password }, retry: { retries: 0 },
  }).admin();
}

const everyAclOfKjs = {
  resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal: 'User:kjs',
  operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
};

async function main() {
  const out = {};
  const admin = client(adminUser, adminPassword);
  await admin.connect();
  out.created = await admin.createAcls({
    acl: [
      { resourceType: AclResourceTypes.TOPIC, resourceName: 'kjs-', resourcePatternType: ResourcePatternTypes.PREFIXED,
        principal: 'User:kjs', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
      { resourceType: AclResourceTypes.GROUP, resourceName: 'kjs-g', resourcePatternType: ResourcePatternTypes.LITERAL,
        principal: 'User:kjs', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
    ],
  });
  const described = await admin.describeAcls(everyAclOfKjs);
  out.described = described.resources.map((r) => `${r.resourceType}:${r.resourcePatternType}:${r.resourceName}:` +
    r.acls.map((a) => `${a.principal}/${a.operation}/${a.permissionType}`).join(','));
  const deleted = await admin.deleteAcls({ filters: [everyAclOfKjs] });
  out.deleted = deleted.filterResponses.map((f) => ({ errorCode: f.errorCode, matched: f.matchingAcls.length }));
  out.after = (await admin.describeAcls(everyAclOfKjs)).resources.length;
  await admin.disconnect();

  const other = client(otherUser, otherPassword);
  await other.connect();
  try {
    await other.describeAcls(everyAclOfKjs);
    out.refused = 'not refused';
  } catch (e) {
    out.refused = e.type || e.name;
  }
  await other.disconnect();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
