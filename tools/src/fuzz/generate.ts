// The fuzzer's sequence of requests: request i depends only on the seed, i and what was learned
// of the cluster before the run (FuzzWorld), so a seed replays the same choices. Each request is
// an RPC picked by weight, a node it may go to, and a body: the message as generated (its fields
// odd or not), a prefix of it, nothing, or, when that cannot touch a known key, the message with
// its bytes mutated or random bytes.
import { LinkFrame, PeerService, type LinkMessage } from '@ringstore/proto';
import { createRng, type Rng } from '../chaos/prng.js';
import { clientSpecs, callDeadlineMs, type RpcSpec } from './generate-client.js';
import { linkFrame, peerSpecs } from './generate-peer.js';
import { mutateBytes, randomBytes, randomLength, truncate } from './mutate.js';
import { caller, isKnownKey, type FuzzRequest, type FuzzWorld, type Variant } from './world.js';

/** Relative frequency of Link frames among all requests. */
const linkWeight = 30;

type Body = NonNullable<LinkMessage['body']>;

/** Whether a Link message names a known key (it is then never mutated byte by byte). */
function touchesKnown(world: FuzzWorld, body: Body | undefined): boolean {
  const v = body?.value as
    { key?: Uint8Array; afterKey?: Uint8Array; objects?: { key: Uint8Array }[] } | undefined;
  const keys = [v?.key, v?.afterKey, ...(v?.objects ?? []).map((o) => o.key)];
  return keys.some((k) => k !== undefined && isKnownKey(world, k));
}

function variantOf(rng: Rng, mutable: boolean): Variant {
  const r = rng.next();
  if (r < 0.65) return 'message';
  if (r < 0.77) return 'truncated';
  if (r < 0.8) return 'empty';
  if (!mutable) return 'message';
  return r < 0.92 ? 'byte-mutated' : 'random-bytes';
}

function bodyOf(rng: Rng, variant: Variant, message: Buffer): Buffer {
  switch (variant) {
    case 'message':
      return message;
    case 'truncated':
      return truncate(rng, message);
    case 'empty':
      return Buffer.alloc(0);
    case 'byte-mutated':
      return mutateBytes(rng, message);
    case 'random-bytes':
      return randomBytes(rng, randomLength(rng));
  }
}

function linkRequest(rng: Rng, world: FuzzWorld, index: number, node: string): FuzzRequest {
  const { frame, sent } = linkFrame(rng, world, node, index);
  const mutable = !frame.messages.some((m) => touchesKnown(world, m.body));
  const variant = variantOf(rng, mutable);
  const body = bodyOf(rng, variant, Buffer.from(LinkFrame.encode(frame).finish()));
  return {
    index,
    rpc: 'Peer.Link',
    path: PeerService.link.path,
    port: 'peer',
    node,
    from: caller(rng, world, node),
    variant,
    body,
    deadlineMs: callDeadlineMs,
    link: variant === 'message' ? sent : undefined,
  };
}

function unaryRequest(
  rng: Rng,
  world: FuzzWorld,
  index: number,
  spec: RpcSpec,
  node: string,
): FuzzRequest {
  const from = spec.port === 'peer' ? caller(rng, world, node) : undefined;
  const generated = spec.generate(rng, world, node, from);
  const variant = variantOf(rng, generated.mutable);
  return {
    index,
    rpc: spec.rpc,
    path: spec.path,
    port: spec.port,
    node,
    from,
    variant,
    body: bodyOf(rng, variant, generated.body),
    deadlineMs: spec.deadlineMs,
  };
}

/** The run's requests, in order: next() is request 0, 1, 2, ... of the seed. */
export class RequestSequence {
  private readonly specs: readonly RpcSpec[] = [...clientSpecs(), ...peerSpecs()];
  private readonly totalWeight: number;
  private index = 0;

  constructor(
    readonly seed: number,
    private readonly world: FuzzWorld,
    private readonly rng: Rng = createRng(seed),
  ) {
    this.totalWeight = this.specs.reduce((sum, s) => sum + s.weight, linkWeight);
  }

  /** Every RPC the sequence sends ('Peer.Link' included). */
  get rpcs(): string[] {
    return [...this.specs.map((s) => s.rpc), 'Peer.Link'];
  }

  next(): FuzzRequest {
    const index = this.index++;
    const rng = this.rng;
    let pick = rng.next() * this.totalWeight;
    for (const spec of this.specs) {
      pick -= spec.weight;
      if (pick < 0) {
        const targets = spec.targets?.(this.world) ?? this.world.nodeIds;
        return unaryRequest(rng, this.world, index, spec, rng.pick(targets));
      }
    }
    return linkRequest(rng, this.world, index, rng.pick(this.world.nodeIds));
  }
}
