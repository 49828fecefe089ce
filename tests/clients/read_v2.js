// Reads every public v2 endpoint the npm `statuspage.io` client knows, from the origin given as argv[2],
// and prints what it got as one JSON object. Run by tests/test_statuspage_clients.py.
"use strict";
const { Statuspage } = require("statuspage.io");

async function main() {
  const client = new Statuspage("ourpageid");
  client.setApiUrl(process.argv[2]);
  const result = {
    summary: await client.api.getSummary(),
    status: await client.api.getStatus(),
    components: await client.api.getComponents(),
    incidents: await client.api.incidents.getAll(),
    unresolved: await client.api.incidents.getUnresolved(),
    maintenances: await client.api.scheduledMaintenances.getAll(),
    upcoming: await client.api.scheduledMaintenances.getUpcoming(),
    active: await client.api.scheduledMaintenances.getActive(),
  };
  process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
