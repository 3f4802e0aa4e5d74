// Message sets in the old formats (magic 0 and 1) as another implementation writes them: the hex
// is kafka-python 2.0.2's LegacyRecordBatchBuilder (Debian's python3-kafka), made with
//   LegacyRecordBatchBuilder(magic=M, compression_type=C, batch_size=1<<20)
//   .append(0, timestamp=1700000000000, key=b"k1", value=b"v1")
//   .append(1, timestamp=1700000000005, key=None, value=b"hello")
//   .append(2, timestamp=1700000000003, key=b"k3", value=None)        (uncompressed sets only)
// (magic 0 ignores the timestamps). Messages of PY_V1 are 38, 39 and 36 bytes long (offset and
// size included); of PY_V0, 30, 31 and 28.
export const PY_V0 =
  "00000000000000000000001257e7496e0000000000026b3100000002763100000000000000010000001387a77ab20000ffffffff0000000568656c6c6f000000000000000200000010b643ca6a0000000000026b33ffffffff";
export const PY_V1 =
  "00000000000000000000001aa5da6a6201000000018bcfe56800000000026b3100000002763100000000000000010000001b0a4065d701000000018bcfe56805ffffffff0000000568656c6c6f000000000000000200000018096bf75201000000018bcfe56803000000026b33ffffffff";
export const PY_V1_GZIP =
  "00000000000000000000005991d2b33701010000000000000000ffffffff000000431f8b080060ab166b02ff63608003a9a5b7b29218810cc6eef34f3340224cd98620b2cc10aa022429cde5907a1dae8af53f100039ac19a93939f900c04e22664d000000";
export const PY_V0_GZIP =
  "000000000000000000000049579e17720001ffffffff0000003b1f8b080060ab166b02ff63608003a1f0e79e79601653b621882c3384ca3002b170fbf2aa4d0c0cff8100c863cd48cdc9c907007a5ca7273d000000";

