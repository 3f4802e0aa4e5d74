// Reading a consumer-protocol assignment (the bytes a SyncGroup leader hands each member) for the
// control plane's `members[].assignment`. Core may not import net/protocol, and only the topic
// list is needed, so this reads the stable prefix by hand, bounded by the bytes it is given:
//
//   int16 version (≥ 0), then ConsumerProtocolAssignment (classic encoding at every version):
//   int32 topic count, per topic: int16 name length + UTF-8 name, int32 partition count + int32s
//   (user data and anything later is ignored).
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
