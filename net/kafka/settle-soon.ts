// The fast paths' answers that are ready during their own dispatch (fast-produce.ts: fsync
// `never`/`interval`, refusals; fast-fetch.ts: data already there): dispatch promises never to
// settle inside its call, so they are settled one microtask later, by one module-level function
// over one queue, not a closure each. The connection's slots keep each connection's order.

interface Settles {
  settle(): void;
}

const queued: Settles[] = [];

/** Settles `request` in the next microtask (with everything else queued before it). */
export function settleSoon(request: Settles): void {
  queued.push(request);
  if (queued.length === 1) queueMicrotask(settleQueued);
}

function settleQueued(): void {
  for (let i = 0; i < queued.length; i++) queued[i]!.settle();
  queued.length = 0;
}
