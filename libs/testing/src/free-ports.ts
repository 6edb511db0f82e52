import fs from 'node:fs';
import net from 'node:net';

/**
 * Ports for the processes a test starts. A port the kernel hands out for `listen(0)` is in its ephemeral range, the
 * same range outgoing connections take their local ports from: between the check and the child's bind, a busy
 * machine's next outgoing connection can take it (EADDRINUSE at start). So ports are chosen below that range, checked
 * by binding, and never handed out twice by one process.
 */
const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const [low] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    if (Number.isInteger(n) && n > 16_000) return n;
  } catch {
    // Not Linux: the IANA dynamic range starts at 49152.
  }
  return 32_768;
}

const LOW = 15_000;
const HIGH = ephemeralLow() - 1;

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A port below the ephemeral range that is free now and was not handed out before by this process. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return freePortBase([0], host);
}

/** A base such that `base + offset` is free for every offset (consecutive service ports, say); see `freePort`. */
export async function freePortBase(offsets: readonly number[], host = '127.0.0.1'): Promise<number> {
  const span = Math.max(...offsets);
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const base = LOW + Math.floor(Math.random() * (HIGH - span - LOW));
    const ports = offsets.map((o) => base + o);
    if (ports.some((p) => handedOut.has(p))) continue;
    const free = await Promise.all(ports.map((p) => canBind(p, host)));
    if (!free.every(Boolean)) continue;
    for (const p of ports) handedOut.add(p);
    return base;
  }
  throw new Error(`no free ports for offsets ${offsets.join(',')} in ${LOW}..${HIGH}`);
}
