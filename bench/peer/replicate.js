// The peer's first sync: a fresh PouchDB (LevelDB) replicates the server's database.
// node replicate.js CLIENT_DIR URL  -> prints {"docs": N, "cpu_s": ...} as JSON.
'use strict';
const path = require('path');
const PouchDB = require('pouchdb-node');

async function main() {
  const [dir, url] = process.argv.slice(2);
  const local = new PouchDB(path.join(dir, 'cases'));
  const result = await local.replicate.from(url + '/cases');
  const info = await local.info();
  await local.close();
  const cpu = process.cpuUsage();
  console.log(JSON.stringify({
    docs: info.doc_count,
    written: result.docs_written,
    cpu_s: (cpu.user + cpu.system) / 1e6,
  }));
}

main().catch((err) => { console.error(err); process.exit(1); });
