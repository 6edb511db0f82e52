// Run by heap-growth.spec.ts under `node --trace-gc-verbose`: tunes (or not), then makes the main thread and a worker
// thread each run full collections, so the trace shows the growing factor V8 used in both.
import { Worker } from 'node:worker_threads';
import { tuneHeapGrowth } from '../heap-growth';

if (process.argv[2] === 'tuned') tuneHeapGrowth();
const churn = `
  const v8 = require('node:v8');
  v8.setFlagsFromString('--expose-gc');
  const collect = require('node:vm').runInNewContext('gc');
  const kept = [];
  for (let i = 0; i < 300000; i++) kept.push({ i, s: 'x' + i });
  collect();
  collect();
`;
new Function('require', churn)(require);
const worker = new Worker(churn, { eval: true });
worker.on('exit', (code) => process.exit(code));
