import type { ClusterRuntime } from '../clusters/cluster-manager.js';
import { ignoreNotFound } from '../errors.js';
import type { SecretObject } from '../kube/objects.js';
import type { ApplicationObject } from './application-crd.js';
import type { FormField } from './chart-form.js';

/**
 * Form values of type `password` never go into an Application's spec, which anyone allowed to
 * read Applications reads. They live in a Secret of the application's namespace
 * (`<application>-configs`, one key per jsonKey) that the spec names in `secretConfigs`, and
 * that the Application owns once the controller has seen both (so it goes with it).
 */
export function secretConfigsName(application: string): string {
  return `${application}-configs`;
}

export interface SplitConfigs {
  /** What the spec may hold. */
  plain: Record<string, unknown>;
  /** The password fields given, by jsonKey; empty when there are none. */
  secret: Record<string, string>;
}

export function splitSecretConfigs(form: readonly FormField[], configs: Record<string, unknown>): SplitConfigs {
  const passwordKeys = new Set(form.filter((field) => field.type === 'password').map((field) => field.jsonKey));
  const plain: Record<string, unknown> = {};
  const secret: Record<string, string> = {};
  for (const [key, value] of Object.entries(configs)) {
    if (passwordKeys.has(key) && typeof value === 'string') secret[key] = value;
    else plain[key] = value;
  }
  return { plain, secret };
}

/**
 * Writes the Secret of `application`'s password values before its Application exists, so the
 * controller never installs without them (replacing one of that name, see replaceSecret).
 */
export async function writeSecretConfigs(runtime: ClusterRuntime, namespace: string, application: string, values: Record<string, string>): Promise<string> {
  const name = secretConfigsName(application);
  const secret: SecretObject = {
    metadata: { name, namespace, labels: { 'app.zcloud.cn/application': application } },
    type: 'Opaque',
    stringData: values,
  };
  await replaceSecret(runtime, secret);
  return name;
}

/** Creates `secret`, first deleting one of its name left by an earlier application (its garbage collection not done yet). */
export async function replaceSecret(runtime: ClusterRuntime, secret: SecretObject): Promise<void> {
  await runtime.client.delete('secrets', secret.metadata.namespace, secret.metadata.name).catch(ignoreNotFound);
  await runtime.client.create('secrets', secret);
}

/** Why an application's password values cannot be read yet; the controller waits on it. */
export class SecretConfigsMissing extends Error {}

/**
 * The password values `app` names in `spec.secretConfigs`, read from the apiserver (not the
 * cache: zcloud need not watch every Secret of every cluster). The Secret is made owned by the
 * Application here, once both exist, so it is deleted with it.
 */
export async function readSecretConfigs(runtime: ClusterRuntime, app: ApplicationObject): Promise<Record<string, string>> {
  const name = app.spec.secretConfigs;
  if (!name) return {};
  const namespace = app.metadata.namespace ?? '';
  const secret = await runtime.client.getLive<SecretObject>('secrets', namespace, name).catch(ignoreNotFound);
  if (!secret) throw new SecretConfigsMissing(`waiting for Secret ${namespace}/${name} with the application's password values`);
  const uid = app.metadata.uid ?? '';
  if (uid && !secret.metadata.ownerReferences?.some((owner) => owner.uid === uid)) {
    await runtime.client.mergePatch('secrets', namespace, name, {
      metadata: { ownerReferences: [{ apiVersion: 'app.zcloud.cn/v1', kind: 'Application', name: app.metadata.name, uid }] },
    });
  }
  const values: Record<string, string> = {};
  for (const [key, encoded] of Object.entries(secret.data ?? {})) values[key] = Buffer.from(encoded, 'base64').toString('utf8');
  return values;
}
