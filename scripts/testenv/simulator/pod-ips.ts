/**
 * Hands out pod IPs from one node's pod CIDR (IPv4), as a CNI plugin's host-local IPAM would:
 * the network and first address (the bridge) and the broadcast address are skipped, the
 * lowest free address wins, and an address is held per pod UID until released.
 */
export class PodIpPool {
  readonly #first: number;
  readonly #last: number;
  readonly #byUid = new Map<string, number>();
  readonly #used = new Set<number>();

  constructor(readonly cidr: string) {
    const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!match) throw new Error(`pod CIDR ${cidr} is not an IPv4 CIDR`);
    const bits = Number(match[5]);
    if (bits > 30) throw new Error(`pod CIDR ${cidr} is too small`);
    const base = match.slice(1, 5).reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const size = 2 ** (32 - bits);
    const network = base - (base % size);
    this.#first = network + 2;
    this.#last = network + size - 2;
  }

  /** Whether `ip` lies in the range this pool hands out. */
  contains(ip: string): boolean {
    const value = toNumber(ip);
    return value !== undefined && value >= this.#first && value <= this.#last;
  }

  /**
   * The IP of pod `uid`: the one it already holds, else `preferred` (what its status says, after
   * a simulator restart) when that is in range and free, else the lowest free one.
   */
  assign(uid: string, preferred?: string): string {
    const held = this.#byUid.get(uid);
    if (held !== undefined) return toIp(held);
    const wanted = preferred && this.contains(preferred) ? toNumber(preferred) : undefined;
    let value = wanted !== undefined && !this.#used.has(wanted) ? wanted : undefined;
    for (let candidate = this.#first; value === undefined && candidate <= this.#last; candidate++) {
      if (!this.#used.has(candidate)) value = candidate;
    }
    if (value === undefined) throw new Error(`pod CIDR ${this.cidr} is exhausted`);
    this.#byUid.set(uid, value);
    this.#used.add(value);
    return toIp(value);
  }

  release(uid: string): void {
    const held = this.#byUid.get(uid);
    if (held === undefined) return;
    this.#byUid.delete(uid);
    this.#used.delete(held);
  }
}

function toNumber(ip: string): number | undefined {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) return undefined;
  return parts.reduce((acc, part) => acc * 256 + part, 0);
}

function toIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
