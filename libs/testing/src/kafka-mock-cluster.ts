import { ChildProcess, spawn } from 'node:child_process';
import { Socket } from 'node:net';

export interface KafkaMockCluster {
  /** `host:port` of every mock broker, ready for a Kafka client's bootstrap brokers. */
  readonly bootstrapServers: string[];
  /** Kills the kcat process that hosts the cluster (every topic and group goes with it). */
  stop(): Promise<void>;
  /**
   * Freezes the brokers (SIGSTOP to kcat): connections stay open and requests get no answer, as when the network to
   * the brokers is gone. `resume()` (SIGCONT) brings them back on the same ports with every topic and group.
   */
  pause(): void;
  resume(): void;
}

export interface KafkaMockClusterOptions {
  readonly brokers?: number;
  /** How long to wait for kcat to print the bootstrap servers. */
  readonly startTimeoutMs?: number;
  /** The kcat executable (defaults to `kcat` on the PATH). */
  readonly command?: string;
}

const KCAT_MISSING =
  'kcat is not installed: it hosts the Kafka mock cluster the integration tests run against. Install it with `apt-get install kcat`.';

// The mock cluster prints its listeners once, either on the `-d mock` debug line
// (`Mock cluster <id> bootstrap.servers=h:p,...`) or on the notice line (`... replaced with h:p,...`).
const BOOTSTRAP_PATTERNS = [/bootstrap\.servers=(\S+)/, /replaced with (\S+)/];

export function parseMockBootstrapServers(log: string): string[] | undefined {
  for (const pattern of BOOTSTRAP_PATTERNS) {
    const match = pattern.exec(log);
    if (match) return match[1].split(',').filter((s) => /^[^:\s]+:\d+$/.test(s));
  }
  return undefined;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that dies or forgets stop() must not leave kcat processes behind.
  process.once('exit', () => {
    for (const child of running) child.stdin?.destroy();
  });
}

/**
 * Starts librdkafka's mock cluster (a real Kafka wire-protocol broker set) inside a kcat process.
 * One cluster per test file: topics auto-create, `admin.createTopics` is not supported.
 *
 * kcat runs without `-d mock`: the notice line carries the same bootstrap servers, and the debug
 * context would log every request, which would have to be drained for the whole run.
 */
export async function startKafkaMockCluster(
  options: KafkaMockClusterOptions = {},
): Promise<KafkaMockCluster> {
  const brokers = options.brokers ?? 3;
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const command = options.command ?? 'kcat';
  // A small shell keeps kcat tied to this process: when our end of its stdin closes (stop(), or this
  // process dying in any way, even SIGKILL), it kills kcat. Exit code 127 means kcat is not installed.
  const child = spawn(
    'sh',
    [
      '-c',
      'command -v "$0" >/dev/null 2>&1 || exit 127\n' +
        'exec 3<&0\n' +
        '"$0" "$@" & k=$!\n' +
        'echo "kcat-pid=$k" >&2\n' +
        '(read _ <&3; kill $k 2>/dev/null) & r=$!\n' +
        'wait $k; s=$?; kill $r 2>/dev/null; exit $s',
      command,
      ...['-b', 'localhost:1', '-C', '-q', '-t', '_boot', '-X', `test.mock.num.brokers=${brokers}`],
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  running.add(child);
  installExitHook();

  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );

  let ready = false;
  let kcatPid: number | undefined;
  const bootstrapServers = await new Promise<string[]>((resolve, reject) => {
    let log = '';
    const fail = (error: Error) => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      child.stdin?.destroy();
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          new Error(
            `kcat did not print the mock cluster's bootstrap servers within ${startTimeoutMs} ms:\n${log}`,
          ),
        ),
      startTimeoutMs,
    );
    child.on('error', (error) => fail(error));
    child.once('exit', (code, signal) =>
      fail(
        code === 127
          ? new Error(KCAT_MISSING)
          : new Error(`kcat exited (${signal ?? code}) before the mock cluster was ready:\n${log}`),
      ),
    );
    child.stderr!.setEncoding('utf8');
    // Keeps draining stderr after start too, so kcat never blocks on a full pipe.
    child.stderr!.on('data', (chunk: string) => {
      if (ready) return;
      log += chunk;
      kcatPid ??= Number(/kcat-pid=(\d+)/.exec(log)?.[1]) || undefined;
      const servers = parseMockBootstrapServers(log);
      if (servers && servers.length > 0) {
        ready = true;
        clearTimeout(timer);
        resolve(servers);
      }
    });
  });
  // The cluster must not keep a test process alive on its own (the exit hook and the shell clean up).
  child.unref();
  for (const stream of [child.stdin, child.stderr]) if (stream instanceof Socket) stream.unref();

  let stopped: Promise<void> | undefined;
  const signal = (name: NodeJS.Signals) => {
    if (!kcatPid) throw new Error('the kcat process id is unknown');
    process.kill(kcatPid, name);
  };
  return {
    bootstrapServers,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    stop() {
      stopped ??= (async () => {
        try {
          if (kcatPid) process.kill(kcatPid, 'SIGCONT'); // a frozen kcat cannot exit
        } catch {
          // already gone
        }
        if (child.exitCode === null && child.signalCode === null) {
          child.stdin!.end();
          const forced = setTimeout(() => child.kill('SIGKILL'), 2_000);
          await exited;
          clearTimeout(forced);
        }
      })();
      return stopped;
    },
  };
}
