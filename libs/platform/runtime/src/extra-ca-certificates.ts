import fs from 'node:fs';
import tls from 'node:tls';

/**
 * Adds PEM certificates to the CAs this process trusts (every fetch, https and MSAL call), keeping the system ones:
 * for a corporate TLS-inspecting proxy, a private cloud endpoint, or the sandbox's self-signed HTTPS emulators.
 */
export function trustExtraCaCertificates(pem: string): void {
  const extra = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (extra.length === 0) throw new Error('EXTRA_CA_CERTS_FILE holds no PEM certificate');
  const current = tls.getCACertificates('default');
  tls.setDefaultCACertificates([...current, ...extra.filter((c) => !current.includes(c))]);
}

export function trustExtraCaCertificatesFile(file: string): void {
  trustExtraCaCertificates(fs.readFileSync(file, 'utf8'));
}
