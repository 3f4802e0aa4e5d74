// Reading the consumer protocol's blobs where core needs them: an assignment (the bytes a
// SyncGroup leader hands each member) for the control plane's `members[].assignment`, and a
// subscription (a member's JoinGroup metadata) for OffsetDelete's "is the group subscribed to this
// topic". Core may not import net/protocol, and only the topic lists are needed, so this reads the
// stable prefix by hand, bounded by the bytes it is given (as Kafka's coordinator reads it, with
// the v0 layout that every later version extends):
//
//   int16 version (≥ 0), then ConsumerProtocolAssignment (classic encoding at every version):
//   int32 topic count, per topic: int16 name length + UTF-8 name, int32 partition count + int32s
//   (user data and anything later is ignored).
//
//   int16 version (≥ 0), then ConsumerProtocolSubscription: int32 topic count, per topic int16
//   name length + UTF-8 name (user data, owned partitions and anything later are ignored).
const decoder = new TextDecoder();

/** The topics and partitions in an assignment, or null when the bytes are not one. */
export function assignedPartitions(bytes: Uint8Array): Array<{ topic: string; partitions: number[] }> | null {
  if (bytes.length === 0) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number) => pos + n <= bytes.length;
  if (!need(6) || view.getInt16(0) < 0) return null;
  pos = 2;
  const topics = view.getInt32(pos);
  pos += 4;
  if (topics < 0 || topics > bytes.length) return null;
  const out: Array<{ topic: string; partitions: number[] }> = [];
  for (let t = 0; t < topics; t++) {
    if (!need(2)) return null;
    const len = view.getInt16(pos);
    pos += 2;
    if (len < 0 || !need(len + 4)) return null;
    const topic = decoder.decode(bytes.subarray(pos, pos + len));
    pos += len;
    const count = view.getInt32(pos);
    pos += 4;
    if (count < 0 || !need(count * 4)) return null;
    const partitions: number[] = [];
    for (let i = 0; i < count; i++, pos += 4) partitions.push(view.getInt32(pos));
    out.push({ topic, partitions });
  }
  return out;
}

/** The topics a consumer-protocol subscription names, or null when the bytes are not one. */
export function subscribedTopics(bytes: Uint8Array): string[] | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 6 || view.getInt16(0) < 0) return null;
  let pos = 2;
  const count = view.getInt32(pos);
  pos += 4;
  if (count < 0 || count * 2 > bytes.length - pos) return null;
  const topics: string[] = [];
  for (let t = 0; t < count; t++) {
    if (pos + 2 > bytes.length) return null;
    const len = view.getInt16(pos);
    pos += 2;
    if (len < 0 || pos + len > bytes.length) return null;
    topics.push(decoder.decode(bytes.subarray(pos, pos + len)));
    pos += len;
  }
  return topics;
}
