// The peer's server: CouchDB's HTTP protocol (express-pouchdb) over PouchDB on LevelDB.
// node serve.js DATA_DIR  -> prints "ready PORT" once it listens on 127.0.0.1.
'use strict';
const path = require('path');
const express = require('express');
const PouchDB = require('pouchdb-node');
const expressPouchDB = require('express-pouchdb');

const dir = process.argv[2];
const Local = PouchDB.defaults({ prefix: dir + path.sep });
const app = express();
app.use('/', expressPouchDB(Local, {
  mode: 'minimumForPouchDB',
  configPath: path.join(dir, 'config.json'),
  logPath: path.join(dir, 'log.txt'),
}));
const server = app.listen(0, '127.0.0.1', () => {
  console.log('ready ' + server.address().port);
});
