import { describe, expect, it } from 'vitest';
import { fitWithin, readImageHeader } from './image-size.ts';

const bytes = (...parts: (number[] | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const be16 = (n: number) => [(n >>> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >>> 8) & 255];

describe('readImageHeader', () => {
  it('reads a PNG size from its IHDR chunk', () => {
    const png = bytes([0x89], 'PNG', [13, 10, 26, 10], be32(13), 'IHDR', be32(8000), be32(6000), [8, 6, 0, 0, 0]);
    expect(readImageHeader(png)).toEqual({ format: 'png', width: 8000, height: 6000 });
  });

  it('walks JPEG segments (APP0, APP1 EXIF) to the frame header', () => {
    const jpeg = bytes([0xff, 0xd8], [0xff, 0xe0], be16(16), new Array<number>(14).fill(0), [0xff, 0xe1], be16(6), [1, 2, 3, 4], [0xff, 0xc2], be16(17), [8], be16(3000), be16(4000), [3]);
    expect(readImageHeader(jpeg)).toEqual({ format: 'jpeg', width: 4000, height: 3000 });
  });

  it('reads GIF sizes little-endian', () => {
    expect(readImageHeader(bytes('GIF89a', le16(640), le16(480)))).toEqual({ format: 'gif', width: 640, height: 480 });
  });

  it('knows a JPEG whose frame header lies past the bytes read, without a size', () => {
    expect(readImageHeader(bytes([0xff, 0xd8, 0xff, 0xe1], be16(60000), [0, 0, 0, 0, 0, 0]))).toEqual({ format: 'jpeg', width: null, height: null });
  });

  it('says null for a text file, a PDF, or nothing at all', () => {
    expect(readImageHeader(bytes('hello, this is not an image at all'))).toBeNull();
    expect(readImageHeader(bytes('%PDF-1.7\n%âãÏÓ\n1 0 obj'))).toBeNull();
    expect(readImageHeader(new Uint8Array(0))).toBeNull();
  });
});

describe('fitWithin', () => {
  it('shrinks the longer side to the limit and keeps the aspect, never enlarging', () => {
    expect(fitWithin(8000, 8000, 1024)).toEqual({ width: 1024, height: 1024 });
    expect(fitWithin(4000, 3000, 1000)).toEqual({ width: 1000, height: 750 });
    expect(fitWithin(28, 28, 1024)).toEqual({ width: 28, height: 28 });
  });
});
