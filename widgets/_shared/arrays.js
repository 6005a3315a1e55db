// Typed binary arrays and frames from Python (mirrors fmviz/views/_widget.py).
//
// A TypedArray trait arrives as {dtype, shape, buffer} where buffer is a DataView over the
// raw little-endian bytes (anywidget and fmviz's export runtime both hand over a DataView).
// No other module may be imported here: fmviz inlines this file into each widget's module.

const ARRAY_TYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
};

export function decodeArray(value) {
  // {dtype, shape, buffer: DataView | ArrayBuffer} -> {data: TypedArray, shape: number[]}
  if (!value || !value.buffer) return { data: new Float32Array(0), shape: [0] };
  const Type = ARRAY_TYPES[value.dtype];
  if (!Type) throw new Error(`fmviz: unsupported dtype ${value.dtype}`);
  const view = value.buffer;
  const buffer = view instanceof ArrayBuffer ? view : view.buffer;
  const offset = view instanceof ArrayBuffer ? 0 : view.byteOffset;
  const length = (view.byteLength / Type.BYTES_PER_ELEMENT) | 0;
  // An unaligned view (possible after a copy into a larger message) needs a copy first.
  if (offset % Type.BYTES_PER_ELEMENT !== 0) {
    const copy = new Uint8Array(view.byteLength);
    copy.set(new Uint8Array(buffer, offset, view.byteLength));
    return { data: new Type(copy.buffer), shape: value.shape };
  }
  return { data: new Type(buffer, offset, length), shape: value.shape };
}

export function bytesToUrl(bytes, mime = "image/jpeg") {
  // A DataView / ArrayBuffer / Uint8Array of image bytes -> an object URL (revoke when done).
  if (!bytes) return null;
  const view = bytes instanceof DataView ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
  return URL.createObjectURL(new Blob([view], { type: mime }));
}
