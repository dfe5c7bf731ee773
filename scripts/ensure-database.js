#!/usr/bin/env node
// Creates the database named in DATABASE_URL when it does not exist yet (local development).
'use strict';
const { Client } = require('pg');

async function main() {
  const target = new URL(process.env.DATABASE_URL);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error('database name must be letters, digits or _');
  const admin = new URL(target.toString());
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE "${name}"`);
      console.log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

main().catch((error) => {
  console.error(`could not prepare the database: ${error.message}`);
  process.exit(1);
});
