// OIP tensor conversions on their own: JSON values and binary tensor data to host arrays for every datatype
// serving passes, and back; the refusals name the tensor.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AimassError } from '../core/index.js';
import type { HostTensor } from '../serve/index.js';
import { datatypeOf, fromBinary, fromJson, hostTypeOf, metadataDatatype, toBinary, toJson } from './oip-tensors.js';

const refused = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AimassError, String(e));
  assert.equal(e.code, 'INVALID_ARGUMENT');
  assert.match(e.message, pattern);
  return true;
};

test('datatypes map to host types and back; FP16 and unknown types have none', () => {
  for (const [dtype, datatype] of [
    ['float32', 'FP32'],
    ['float64', 'FP64'],
    ['int32', 'INT32'],
    ['int64', 'INT64'],
    ['uint8', 'UINT8'],
    ['bool', 'BOOL'],
    ['string', 'BYTES'],
  ] as const) {
    assert.equal(datatypeOf(dtype), datatype);
    assert.equal(hostTypeOf(datatype), dtype);
  }
  assert.equal(datatypeOf('float16'), undefined);
  assert.equal(hostTypeOf('FP16'), undefined);
  assert.equal(metadataDatatype('float16'), 'FLOAT16');
});

test('JSON values, flat or nested, become arrays of the model type', () => {
  assert.deepEqual(fromJson('float32', [[1, 2], [3, 4.5]], [2, 2], 'x'), Float32Array.of(1, 2, 3, 4.5));
  assert.deepEqual(fromJson('float64', [0.1, 1e300], [2], 'x'), Float64Array.of(0.1, 1e300));
  assert.deepEqual(fromJson('int32', [-2147483648, 2147483647], [2], 'x'), Int32Array.of(-2147483648, 2147483647));
  assert.deepEqual(fromJson('int64', [[9007199254740991], [-3]], [2, 1], 'x'), BigInt64Array.of(9007199254740991n, -3n));
  assert.deepEqual(fromJson('uint8', [0, 255], [2], 'x'), Uint8Array.of(0, 255));
  assert.deepEqual(fromJson('bool', [[true], [false]], [2, 1], 'x'), Uint8Array.of(1, 0));
  assert.deepEqual(fromJson('string', ['a', ''], [2], 'x'), ['a', '']);
});

test('JSON values that do not fit are refused naming the input', () => {
  assert.throws(() => fromJson('float32', [1, 'x'], [2], 'pixels'), refused(/input "pixels" is FP32 but holds "x", which is not a number/));
  assert.throws(() => fromJson('int32', [2 ** 31], [1], 'count'), refused(/input "count" is INT32 but holds 2147483648, which is not a whole number from -2147483648 to 2147483647/));
  assert.throws(() => fromJson('uint8', [-1], [1], 'level'), refused(/input "level" is UINT8 but holds -1/));
  assert.throws(() => fromJson('int64', [2 ** 53], [1], 'id'), refused(/input "id" is INT64 but holds 9007199254740992/));
  assert.throws(() => fromJson('bool', [1], [1], 'flag'), refused(/input "flag" is BOOL but holds 1, which is not true or false/));
  assert.throws(() => fromJson('string', [null], [1], 'text'), refused(/input "text" is BYTES but holds null, which is not a string/));
  assert.throws(() => fromJson('float32', [1, 2, 3], [2, 2], 'x'), refused(/input "x" has 3 elements, but shape \[2,2\] needs 4/));
});

test('binary tensor data becomes arrays of the model type, from unaligned bytes too', () => {
  const floats = Float32Array.of(1.5, -2, 3.25);
  const unaligned = new Uint8Array(13);
  unaligned.set(new Uint8Array(floats.buffer), 1);
  assert.deepEqual(fromBinary('float32', unaligned.subarray(1), [3], 'x'), floats);
  assert.deepEqual(fromBinary('int64', new Uint8Array(BigInt64Array.of(-7n).buffer), [1], 'x'), BigInt64Array.of(-7n));
  assert.deepEqual(fromBinary('bool', Uint8Array.of(1, 0, 1), [3], 'x'), Uint8Array.of(1, 0, 1));
  const strings = Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('hi'), Buffer.from([0, 0, 0, 0])]);
  assert.deepEqual(fromBinary('string', strings, [2], 'x'), ['hi', '']);

  assert.throws(() => fromBinary('float32', new Uint8Array(10), [3], 'x'), refused(/input "x" has binary_data_size 10, but shape \[3\] of FP32 takes 12 bytes/));
  assert.throws(() => fromBinary('bool', Uint8Array.of(0, 3), [2], 'flag'), refused(/input "flag" is BOOL but its element 1 is the byte 3/));
  assert.throws(() => fromBinary('string', Uint8Array.of(1, 0), [1], 'text'), refused(/input "text" is BYTES but its binary data ends inside the length of element 0/));
  assert.throws(() => fromBinary('string', Uint8Array.of(1, 0, 0, 0, 0xff), [1], 'text'), refused(/input "text" is BYTES but element 0 is not UTF-8 text/));
  assert.throws(() => fromBinary('string', Uint8Array.of(0, 0, 0, 0), [2], 'text'), refused(/input "text" has 1 BYTES elements in its binary data, but its shape needs 2/));
});

test('outputs become JSON values or binary tensor data', () => {
  const t = (type: HostTensor['type'], data: HostTensor['data']): HostTensor => ({ type, data, dims: [data.length] });
  assert.deepEqual(toJson(t('bool', Uint8Array.of(1, 0))), [true, false]);
  assert.deepEqual(toJson(t('int64', BigInt64Array.of(5n, -1n))), [5, -1]);
  assert.deepEqual(toJson(t('string', ['a'])), ['a']);
  assert.deepEqual(toJson(t('float64', Float64Array.of(0.1))), [0.1]);
  assert.deepEqual(Buffer.from(toBinary(t('string', ['hé', '']))), Buffer.from([3, 0, 0, 0, 0x68, 0xc3, 0xa9, 0, 0, 0, 0]));
  const floats = Float32Array.of(1, 2);
  assert.deepEqual(toBinary(t('float32', floats)), new Uint8Array(floats.buffer));
  assert.deepEqual(fromBinary('int32', toBinary(t('int32', Int32Array.of(-9, 9))), [2], 'x'), Int32Array.of(-9, 9));
});
