// Options of `npm run bench` (see docs/testing.md).
import path from 'node:path';
import { ROOT } from '../soak/processes';
import type { BenchOptions } from './end-to-end';

export interface Options extends BenchOptions {
  modes: Array<'embedded' | 'distributed'>;
  quick: boolean;
  profileOut: string;
  logDir: string | undefined;
  skipComponents: boolean;
}

/** Sizes of the component benches in a `--quick` run (their own flags; the full run uses their defaults). */
export const QUICK_COMPONENT_ARGS: Record<string, string[]> = {
  'audit.bench.ts': ['--mailboxes', '5', '--messages', '10', '--rounds', '2'],
  'mail-gateway.bench.ts': [
    '--mailboxes',
    '4',
    '--messages',
    '100',
    '--requests',
    '300',
    '--normalize-messages',
    '300',
  ],
  'sync-engine.bench.ts': ['--sizes', '1000', '--messages', '300'],
};

export class UsageError extends Error {}

const USAGE =
  'usage: npm run bench -- [--quick] [--mode embedded|distributed|both] [--mailboxes M] [--messages N] [--warmup-messages W] ' +
  '[--idle-mailboxes K] [--latency-seconds S] [--raw-rows R] [--concurrency C] [--body-kb B] [--profile] [--profile-out FILE] ' +
  '[--log-dir DIR] [--skip-components] [--kafka-brokers B]';

function usage(problem: string): never {
  throw new UsageError(`${problem}\n${USAGE}`);
}
export function parseArgs(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = {
    quick,
    modes: ['embedded', 'distributed'],
    mailboxes: quick ? 5 : 20,
    // Long enough that the pipeline's fill and drain (about a second) are a small part of the window (issue 16).
    messages: quick ? 200 : 10_000,
    warmupMessages: quick ? 0 : 2_000,
    idleMailboxes: quick ? 100 : 10_000,
    latencySeconds: quick ? 10 : 60,
    rawRows: quick ? 10_000 : 100_000,
    concurrency: 8,
    bodyKb: 0,
    kafkaBrokers: 3,
    settleSeconds: quick ? 1 : 30,
    profile: false,
    profileOut: path.join(ROOT, 'bench', 'results', 'profile.md'),
    logDir: undefined,
    skipComponents: false,
  };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) usage(`${flag} must be an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--quick':
        break;
      case '--profile':
        o.profile = true;
        break;
      case '--skip-components':
        o.skipComponents = true;
        break;
      case '--mailboxes':
        o.mailboxes = int(flag, value(), 1);
        break;
      case '--messages':
        o.messages = int(flag, value(), 1);
        break;
      case '--warmup-messages':
        o.warmupMessages = int(flag, value(), 0);
        break;
      case '--idle-mailboxes':
        o.idleMailboxes = int(flag, value(), 1);
        break;
      case '--latency-seconds':
        o.latencySeconds = int(flag, value(), 1);
        break;
      case '--raw-rows':
        o.rawRows = int(flag, value(), 500);
        break;
      case '--concurrency':
        o.concurrency = int(flag, value(), 1);
        break;
      case '--body-kb':
        o.bodyKb = int(flag, value(), 0);
        break;
      case '--kafka-brokers':
        o.kafkaBrokers = int(flag, value(), 1);
        break;
      case '--profile-out':
        o.profileOut = path.resolve(value());
        break;
      case '--log-dir':
        o.logDir = path.resolve(value());
        break;
      case '--mode': {
        const mode = value();
        if (mode === 'both') o.modes = ['embedded', 'distributed'];
        else if (mode === 'embedded' || mode === 'distributed') o.modes = [mode];
        else usage(`unknown mode ${mode}`);
        break;
      }
      default:
        usage(`unknown option ${argv[i]}`);
    }
  }
  if (o.messages < o.mailboxes) usage('--messages must be at least --mailboxes');
  return o;
}
