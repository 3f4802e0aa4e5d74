// The consumer protocol's embedded blobs: JoinGroup protocol metadata and SyncGroup assignments
// of groups with protocol type "consumer" are an int16 version followed by a
// ConsumerProtocolSubscription / ConsumerProtocolAssignment (generated in ./messages/) at that
// version. As Kafka's ConsumerProtocol does, a version newer than ours is read with our newest
// layout (new versions only append fields); a version below 0 is an error.
import { ConsumerProtocolAssignment, ConsumerProtocolSubscription } from "./messages/index.ts";
import { Reader } from "./reader.ts";
import { Writer } from "./writer.ts";
import type { DataDescriptor } from "./api.ts";

export interface Versioned<T> {
  version: number;
  message: T;
}

function decodeVersioned<T>(d: DataDescriptor<T>, bytes: Uint8Array): Versioned<T> | { error: string } {
  const r = new Reader(bytes);
  const version = r.int16();
  if (r.error === null && version < d.minVersion) return { error: `${d.name}: version ${version}` };
  const message = d.decode(r, Math.min(version, d.maxVersion));
  return r.error === null ? { version, message } : { error: `${d.name}: ${r.error}` };
}

function encodeVersioned<T>(d: DataDescriptor<T>, version: number, m: T): Uint8Array {
  if (version < d.minVersion || version > d.maxVersion) throw new RangeError(`${d.name}: no version ${version}`);
  const w = new Writer(128);
  w.int16(version);
  d.encode(w, version, m);
  return w.finish();
}

type Subscription = ReturnType<typeof ConsumerProtocolSubscription.decode>;
type Assignment = ReturnType<typeof ConsumerProtocolAssignment.decode>;

export const decodeSubscription = (bytes: Uint8Array): Versioned<Subscription> | { error: string } =>
  decodeVersioned(ConsumerProtocolSubscription, bytes);
export const encodeSubscription = (version: number, m: Subscription): Uint8Array => encodeVersioned(ConsumerProtocolSubscription, version, m);
export const decodeAssignment = (bytes: Uint8Array): Versioned<Assignment> | { error: string } =>
  decodeVersioned(ConsumerProtocolAssignment, bytes);
export const encodeAssignment = (version: number, m: Assignment): Uint8Array => encodeVersioned(ConsumerProtocolAssignment, version, m);
