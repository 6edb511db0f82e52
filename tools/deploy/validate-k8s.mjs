// Validates Kubernetes objects against the API's JSON schemas, offline: the kubernetes-models packages carry the
// schemas of every built-in kind, and @kubernetes-models/prometheus-operator those of the Prometheus Operator's custom
// resources (ES modules, hence a separate process for the CommonJS tests).
//   node tools/deploy/validate-k8s.mjs < objects.json   ->   [{ kind, name, apiVersion, errors | unknownKind }]
import { readFileSync } from 'node:fs';

const objects = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const object of objects) {
  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  const modulePath = apiVersion.startsWith('monitoring.coreos.com/')
    ? `@kubernetes-models/prometheus-operator/${apiVersion}`
    : `kubernetes-models/${apiVersion}`;
  let Model;
  try {
    Model = (await import(modulePath))[kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== 'function' || Model.kind !== kind || Model.apiVersion !== apiVersion) {
    results.push({ apiVersion, kind, name, unknownKind: true });
    continue;
  }
  try {
    new Model(object).validate();
    results.push({ apiVersion, kind, name, errors: [] });
  } catch (error) {
    const errors = Array.isArray(error.errors)
      ? error.errors.map((e) => `${e.instancePath || '/'} ${e.message}`)
      : [String(error.message ?? error)];
    results.push({ apiVersion, kind, name, errors });
  }
}
process.stdout.write(JSON.stringify(results));
