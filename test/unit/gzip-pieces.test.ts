import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { crc32, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { compressPiece, crc32Combine, stitchGzip } from '../../src/exposition/gzip-pieces.js';

test('crc32Combine gives the CRC-32 of the concatenation, from the two CRCs and the second length', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
      const whole = crc32(Buffer.concat([a, b]));
      assert.equal(crc32Combine(crc32(a), crc32(b), b.length), whole);
    }),
    { numRuns: 500 },
  );
  // Edges: nothing after, nothing before, one byte.
  assert.equal(crc32Combine(crc32('abc'), crc32(''), 0), crc32('abc'));
  assert.equal(crc32Combine(0, crc32('abc'), 3), crc32('abc'));
  assert.equal(crc32Combine(crc32('a'), crc32('b'), 1), crc32('ab'));
});

test("stitched pieces are one gzip member whose text is the pieces' texts in order, whatever the cut", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 400 }), { maxLength: 12 }), (texts) => {
      const body = Buffer.concat(stitchGzip(texts.map((t) => compressPiece(t))));
      assert.equal(gunzipSync(body).toString('utf8'), texts.join(''));
    }),
    { numRuns: 300 },
  );
});

test('a piece is reused as it is: the same compressed piece at several places, in another order', () => {
  const a = compressPiece('# TYPE a gauge\na 1\n');
  const b = compressPiece('# TYPE b gauge\nb 2\n');
  assert.equal(
    gunzipSync(Buffer.concat(stitchGzip([b, a, b]))).toString(),
    '# TYPE b gauge\nb 2\n# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n',
  );
  assert.equal(gunzipSync(Buffer.concat(stitchGzip([]))).toString(), '', 'no piece: an empty body, still valid gzip');
});

test('the trailer holds the length modulo 2^32 and the combined CRC', () => {
  const body = Buffer.concat(
    stitchGzip([compressPiece('x'), { deflated: Buffer.alloc(0), crc: 0, length: 2 ** 32 + 5 }]),
  );
  assert.equal(body.readUInt32LE(body.length - 4), 6);
  const text = 'hello, world\n';
  const real = Buffer.concat(stitchGzip([compressPiece(text.slice(0, 5)), compressPiece(text.slice(5))]));
  assert.equal(real.readUInt32LE(real.length - 8), crc32(text));
});

/** A large exposition-like text cut into pieces the way the exporter cuts it. */
function sample(): { pieces: string[]; text: string } {
  const pieces: string[] = [];
  for (let p = 0; p < 20; p++) {
    let t = `# HELP fam_${p} Family ${p}.\n# TYPE fam_${p} gauge\n`;
    for (let i = 0; i < 2000; i++)
      t += `fam_${p}{device_id="${i}",device_name="host-${i}.tail1234.ts.net"} ${(i * 7 + p) % 1000}\n`;
    pieces.push(t);
  }
  return { pieces, text: pieces.join('') };
}

test('decoders that stop after the first member read the whole body: Python zlib (one stream), gzip module', () => {
  const { pieces, text } = sample();
  const body = Buffer.concat(stitchGzip(pieces.map((t) => compressPiece(t))));
  // zlib.decompressobj(31) decodes exactly one gzip member and leaves anything after it in unused_data.
  const script =
    'import sys,zlib,gzip\nb=sys.stdin.buffer.read()\nd=zlib.decompressobj(31)\nout=d.decompress(b)+d.flush()\nassert d.eof and d.unused_data==b"", "more than one member"\nassert gzip.decompress(b)==out\nsys.stdout.buffer.write(out)';
  const out = execFileSync('python3', ['-c', script], { input: body, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(out.toString('utf8'), text);
});

test('curl --compressed reads every piece of a stitched body served with Content-Encoding: gzip', async (t) => {
  const { pieces, text } = sample();
  const body = Buffer.concat(stitchGzip(pieces.map((p) => compressPiece(p))));
  const server = createServer((_req, res) =>
    res
      .writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length })
      .end(body),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const out = await new Promise<string>((resolve, reject) => {
    const curl = spawn('curl', [
      '--silent',
      '--show-error',
      '--compressed',
      '--max-time',
      '20',
      `http://127.0.0.1:${port}/metrics`,
    ]);
    const chunks: Buffer[] = [];
    curl.stdout.on('data', (c: Buffer) => chunks.push(c));
    curl.on('error', reject);
    curl.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`curl exited ${code}`)),
    );
  });
  assert.equal(out.length, text.length);
  assert.equal(out, text);
});

test('a piece made from a string counts its UTF-8 bytes, not its characters', () => {
  const text = 'tailscaled_x{device_name="café-ü-日本"} 1\n';
  const piece = compressPiece(text);
  assert.equal(piece.length, Buffer.byteLength(text));
  assert.equal(piece.crc, crc32(Buffer.from(text, 'utf8')));
  const body = Buffer.concat(stitchGzip([piece, compressPiece('tail 2\n')]));
  assert.equal(gunzipSync(body).toString('utf8'), `${text}tail 2\n`);
});
