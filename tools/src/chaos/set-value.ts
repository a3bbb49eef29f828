// The set workload's values: "<stamp>|<element>,<element>,...". The stamp (the writer's clock)
// only serves the last-writer-wins self-test; the union merge ignores it. Pure.

export interface SetValue {
  readonly stampMs: number;
  readonly elements: readonly string[];
}

export function encodeSet(value: SetValue): Buffer {
  const sorted = [...new Set(value.elements)].sort(
    (a, b) => Number(a) - Number(b) || a.localeCompare(b),
  );
  return Buffer.from(`${value.stampMs}|${sorted.join(',')}`);
}

/** Decodes a value; anything malformed reads as its raw text, one element, so the checker flags it as unexpected. */
export function decodeSet(bytes: Uint8Array): SetValue {
  const text = Buffer.from(bytes).toString('utf8');
  const bar = text.indexOf('|');
  const stampMs = Number(text.slice(0, bar));
  if (bar < 0 || !Number.isFinite(stampMs))
    return { stampMs: 0, elements: text === '' ? [] : [text] };
  const rest = text.slice(bar + 1);
  return { stampMs, elements: rest === '' ? [] : rest.split(',') };
}

/** How the set workload resolves siblings: 'union' keeps every element; 'lww' (self-test) keeps the newest sibling only. */
export type SetMerge = 'union' | 'lww';

/** The merge function `update` calls: resolve the live siblings, then add the element. */
export function mergeFor(
  mode: SetMerge,
  element: string,
  stampMs: number,
): (values: readonly Uint8Array[]) => Buffer {
  return (values) => {
    const siblings = values.map(decodeSet);
    const kept = mode === 'union' ? siblings : newest(siblings);
    return encodeSet({ stampMs, elements: [...kept.flatMap((s) => s.elements), element] });
  };
}

/** Last writer wins: the sibling with the highest stamp (ties: the larger text), the others dropped. */
function newest(siblings: readonly SetValue[]): SetValue[] {
  let best: SetValue | undefined;
  for (const s of siblings) {
    if (
      best === undefined ||
      s.stampMs > best.stampMs ||
      (s.stampMs === best.stampMs && s.elements.join(',') > best.elements.join(','))
    )
      best = s;
  }
  return best === undefined ? [] : [best];
}
