// Load the benchmark's cases (one JSON document a line, with its _id) into the server's
// database before it starts: node load.js DATA_DIR CASES.jsonl  -> prints the count.
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const PouchDB = require('pouchdb-node');

async function main() {
  const [dir, file] = process.argv.slice(2);
  const db = new PouchDB(path.join(dir, 'cases'));
  const lines = readline.createInterface({ input: fs.createReadStream(file) });
  let batch = [];
  let count = 0;
  for await (const line of lines) {
    if (!line) continue;
    batch.push(JSON.parse(line));
    if (batch.length === 1000) {
      await db.bulkDocs(batch);
      count += batch.length;
      batch = [];
    }
  }
  if (batch.length) {
    await db.bulkDocs(batch);
    count += batch.length;
  }
  await db.close();
  console.log(String(count));
}

main().catch((err) => { console.error(err); process.exit(1); });
