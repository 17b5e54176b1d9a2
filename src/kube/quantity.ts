const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** Whether `text` is a Kubernetes resource quantity ("100m", "1.5", "128Mi", "1e3"). */
export function isQuantity(text: string): boolean {
  return QUANTITY.test(text.trim());
}

/** The numeric value of a quantity in base units (cores, bytes, counts). Throws on bad input. */
export function parseQuantity(text: string): number {
  const match = QUANTITY.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a Kubernetes quantity`);
  const number = Number(match[1]);
  if (match[2]) return number * 10 ** Number(match[2].slice(1));
  return number * (SUFFIX[match[3] ?? ''] ?? 1);
}

/** cpu quantity → whole millicores. */
export function milliCores(text: string | undefined): number {
  return text ? Math.round(parseQuantity(text) * 1000) : 0;
}

/** memory/storage quantity → whole bytes. */
export function bytes(text: string | undefined): number {
  return text ? Math.round(parseQuantity(text)) : 0;
}

/** Whole bytes → the shortest exact binary quantity ("64Mi", "100Gi"; "1536" when none is exact). */
export function formatBytes(value: number): string {
  for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const unit = SUFFIX[suffix]!;
    if (value !== 0 && value % unit === 0) return `${value / unit}${suffix}`;
  }
  return String(value);
}
