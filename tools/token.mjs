#!/usr/bin/env node
// Mints a CRM bearer token for the embedded default (signed with the secret in the data folder, or AUTH_JWT_SECRET).
//   npm run token -- --location loc_demo --user usr_demo [--hours 8]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const jwt = require('jsonwebtoken');
const { values } = parseArgs({
  options: {
    location: { type: 'string', default: 'loc_demo' },
    user: { type: 'string', default: 'usr_demo' },
    hours: { type: 'string', default: '8' },
  },
});
let secret = process.env.AUTH_JWT_SECRET;
if (!secret) {
  const file = path.resolve(process.env.MAILBRIDGE_DATA_DIR ?? '.data', 'secrets.json');
  if (!fs.existsSync(file)) {
    console.error(`No ${file}: start the platform once (npm start) or set AUTH_JWT_SECRET.`);
    process.exit(1);
  }
  secret = JSON.parse(fs.readFileSync(file, 'utf8')).authJwtSecret;
}
const token = jwt.sign({ loc: values.location }, secret, {
  algorithm: 'HS256',
  subject: values.user,
  expiresIn: Number(values.hours) * 3600,
});
process.stdout.write(`${token}\n`);
