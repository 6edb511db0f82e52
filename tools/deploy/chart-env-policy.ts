// How the Helm chart treats the environment variables the services read (checked by config-parity.spec.ts and shown
// in docs/configuration.md). Every variable a service reads appears in its Deployment, except these few.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR } from './helm';
import { SERVICES } from './env-scan';

/** Read by the services but deliberately not set by the chart (their default is the only right value there). */
export const LEFT_TO_DEFAULT: Readonly<Record<string, string>> = {
  HOST: 'must stay 0.0.0.0 (the default) so probes, Services and the ingress controller reach the pod',
};

/** Groups of which one must be set (the services refuse to start with none). */
export const ALTERNATIVES: readonly (readonly string[])[] = [['AUTH_JWT_SECRET', 'AUTH_JWKS_URL']];

/** Set by the chart's templates themselves, not through values. */
export const SET_BY_TEMPLATES: Readonly<Record<string, string>> = {
  PORT: 'services.<name>.port',
  RUN_MIGRATIONS: "'false': the pre-install/pre-upgrade Job migrates",
};

export interface ChartValues {
  config?: Record<string, unknown>;
  secrets?: { env?: Record<string, unknown> };
  services?: Record<string, { config?: Record<string, unknown>; secretEnv?: Record<string, unknown> }>;
}

export function readChartValues(file = path.join(CHART_DIR, 'values.yaml')): ChartValues {
  return parse(fs.readFileSync(file, 'utf8')) as ChartValues;
}

/** Where the chart sets a variable, e.g. ['config'] or ['services.mail-gateway.secretEnv']. */
export function chartPlacesOf(variable: string, values: ChartValues = readChartValues()): string[] {
  const places: string[] = [];
  if (SET_BY_TEMPLATES[variable]) places.push(`templates (${SET_BY_TEMPLATES[variable]})`);
  if (values.config && variable in values.config) places.push('config');
  if (values.secrets?.env && variable in values.secrets.env) places.push('secrets.env');
  for (const service of SERVICES) {
    const own = values.services?.[service];
    if (own?.config && variable in own.config) places.push(`services.${service}.config`);
    if (own?.secretEnv && variable in own.secretEnv) places.push(`services.${service}.secretEnv`);
  }
  return places;
}
