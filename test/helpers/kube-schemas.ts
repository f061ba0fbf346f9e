import * as certManager from '@kubernetes-models/cert-manager';
import * as prometheusOperator from '@kubernetes-models/prometheus-operator';
import * as models from 'kubernetes-models';

/**
 * Validates Kubernetes objects against the API's OpenAPI schemas as kubernetes-models ships them
 * (Kubernetes 1.30: native sidecars' container restartPolicy included), with unknown fields
 * refused. The package's validators (ajv, compiled from the schemas) check types, required
 * fields and enums but accept any field they do not know, as the OpenAPI schemas declare no
 * additionalProperties. So each object is validated through a Proxy that records every field
 * the validator reads: a compiled validator reads each field its schema declares (to check it)
 * and, for a map (labels, resources.limits), every key (to check its value). A field present
 * in the object that the validator never read is one the schema does not have: unknown, as the
 * API server's strict field validation (kubectl --validate=strict) refuses it.
 *
 * Edge cases: a field whose schema the package left unconstrained is not read either and would
 * be reported as unknown. Comparing each model's declared fields with its validator's code, 21
 * of the package's fields are such: PriorityClass's and CRD columns' `description` and the
 * `x-kubernetes-*` extensions of CRD schemas, none of them in a kind this chart makes. A kind
 * the package has no model for (a CRD's, such as monitoring.coreos.com's ServiceMonitor) is an
 * error, not a pass.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface ModelClass {
  apiVersion: string;
  kind: string;
  prototype: { validate(this: unknown): void };
}

let registry: Map<string, ModelClass> | undefined;

/**
 * Every model the packages have, by "apiVersion kind" (found by walking their group/version
 * modules): Kubernetes' own, and the CRDs the chart can render (cert-manager's Certificate,
 * the Prometheus operator's ServiceMonitor and PodMonitor), from the same project.
 */
function modelsByKind(): Map<string, ModelClass> {
  if (registry) return registry;
  registry = new Map();
  const walk = (value: unknown, depth: number) => {
    if (depth > 3 || value === null || (typeof value !== 'object' && typeof value !== 'function')) return;
    const m = value as Partial<ModelClass>;
    if (typeof value === 'function' && typeof m.apiVersion === 'string' && typeof m.kind === 'string') {
      registry!.set(`${m.apiVersion} ${m.kind}`, value as unknown as ModelClass);
      return;
    }
    if (typeof value === 'object') for (const v of Object.values(value)) walk(v, depth + 1);
  };
  for (const pkg of [models, certManager, prometheusOperator]) walk(pkg, 0);
  return registry;
}

/** One problem with an object: the JSON pointer of the field and what is wrong with it. */
export interface SchemaProblem {
  path: string;
  message: string;
}

/**
 * The problems of one object (empty when it is valid): schema violations as the package's
 * validator words them, then unknown fields ("unknown field"), each with its JSON pointer.
 * Throws when the package has no model for the object's apiVersion and kind.
 */
export function kubeSchemaProblems(object: { apiVersion?: unknown; kind?: unknown }): SchemaProblem[] {
  const model = modelsByKind().get(`${String(object.apiVersion)} ${String(object.kind)}`);
  if (!model)
    throw new Error(`no Kubernetes schema for apiVersion ${String(object.apiVersion)} kind ${String(object.kind)}`);
  const read = new Map<string, Set<string>>();
  const watch = (value: unknown, at: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    return new Proxy(value, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown;
        if (typeof key !== 'string') return v;
        if (!Array.isArray(target)) {
          const keys = read.get(at) ?? new Set<string>();
          keys.add(key);
          read.set(at, keys);
        }
        return watch(v, `${at}/${pointerEscape(key)}`);
      },
    });
  };
  try {
    model.prototype.validate.call(watch(object, ''));
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (!errors) throw err;
    // The validator stops reading past what it refused: unknown fields are only reported on an
    // object that is otherwise valid.
    return errors.map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'is invalid' }));
  }
  const unknown: SchemaProblem[] = [];
  const walk = (value: Json, at: string) => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${at}/${i}`));
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const here = `${at}/${pointerEscape(k)}`;
        if (!read.get(at)?.has(k)) unknown.push({ path: here, message: 'unknown field' });
        else walk(v, here);
      }
    }
  };
  walk(object as Json, '');
  return unknown;
}

function pointerEscape(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
