// The facts the generator emits beside each message's codec (./messages/*.ts, `…Schema`): struct
// and field names, schema types, version ranges. Tests build sample messages from them; tools can
// print them. Hand-written. Version ranges are inclusive [lo, hi]; an open range ends at 32767.

export interface FieldSchema {
  /** camelCase property name. */
  name: string;
  /** Schema primitive (int8 … records, uuid), a struct's TypeScript name, or either after "[]". */
  type: string;
  versions: readonly [number, number];
  nullable?: readonly [number, number];
  /** Tag number, for fields carried in the tagged-field section in flexible versions. */
  tag?: number;
  /** A field-level flexibleVersions override (RequestHeader.clientId: never compact). */
  flexible?: readonly [number, number];
}

export interface MessageSchema {
  name: string;
  validVersions: readonly [number, number];
  flexibleVersions: readonly [number, number] | null;
  /** Every struct of the message, the top-level one (named like the message) included. */
  structs: Readonly<Record<string, readonly FieldSchema[]>>;
}
