import { randomBytes } from 'node:crypto';
import { KubeApiError, type KubeHttp } from '../kube/kube-http.js';

/** The Secret in zcloud's namespace holding the keys every replica must share. */
export const KEYS_SECRET = 'zcloud-keys';

export interface SharedKeys {
  /** Seals the secret fields of stored records (base64, 32 bytes). */
  secretsKey: string;
  /** Signs tokens: a token one replica issued is accepted by every other (base64, 32 bytes). */
  jwtSecret: string;
}

/**
 * The shared keys, read from Secret `zcloud-keys` in `namespace`, made (32 random bytes each)
 * by the first replica to start. Two replicas starting together both try to create it; the
 * one that gets 409 reads what the other wrote, so all end with the same keys.
 */
export async function sharedKeys(http: KubeHttp, namespace: string): Promise<SharedKeys> {
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  const read = async (): Promise<SharedKeys | undefined> => {
    try {
      const secret = await http.request<{ data?: Record<string, string> }>('GET', `${path}/${KEYS_SECRET}`);
      const decode = (key: string): string => {
        const value = secret.data?.[key];
        if (!value) throw new Error(`secret ${namespace}/${KEYS_SECRET} has no ${key}`);
        return Buffer.from(value, 'base64').toString('utf8');
      };
      return { secretsKey: decode('secrets-key'), jwtSecret: decode('jwt-signing-key') };
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  };
  const existing = await read();
  if (existing) return existing;
  const made: SharedKeys = { secretsKey: randomBytes(32).toString('base64'), jwtSecret: randomBytes(32).toString('base64') };
  try {
    await http.request('POST', path, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: KEYS_SECRET, labels: { 'app.kubernetes.io/managed-by': 'zcloud' } }, type: 'Opaque', stringData: { 'secrets-key': made.secretsKey, 'jwt-signing-key': made.jwtSecret } },
    });
    return made;
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    const winner = await read();
    if (!winner) throw new Error(`secret ${namespace}/${KEYS_SECRET} was created and is gone again`, { cause: err });
    return winner;
  }
}
