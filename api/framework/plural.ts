/**
 * The seed's collection-name rule: a name ending in s, ch or x takes "es"; a consonant followed
 * by y becomes "ies"; anything else takes "s".
 */
export function pluralize(kind: string): string {
  if (/(s|ch|x)$/.test(kind)) return `${kind}es`;
  if (/[^aeiou]y$/.test(kind)) return `${kind.slice(0, -1)}ies`;
  return `${kind}s`;
}
