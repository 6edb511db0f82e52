import fs from 'node:fs';
import net from 'node:net';
import { freePort, freePortBase } from './free-ports';

describe('ports for the processes a test starts', () => {
  const ephemeralLow = (() => {
    try {
      return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    } catch {
      return 32_768;
    }
  })();

  it('are below the ephemeral range (where outgoing connections could take them), bindable, and never handed out twice', async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(50);
    for (const p of ports) expect(p).toBeLessThan(ephemeralLow);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a base has every offset free and below the ephemeral range', async () => {
    const base = await freePortBase([1, 2, 3, 4, 25]);
    expect(base + 25).toBeLessThan(ephemeralLow);
  });
});
