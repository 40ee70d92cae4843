// The one size-capped body reader: the API client's JSON answers and the device scraper's exposition text. One copy
// of the bytes when the length is declared (undici's text()/json() keep the chunks and their concatenation at
// once); a chunked body is cut off as soon as it passes the cap.

export class BodyTooLargeError extends Error {}

/**
 * The body's bytes. Throws BodyTooLargeError past `maxBytes` (or when the declared length is over it, before reading)
 * and a SyntaxError when the body is longer than its Content-Length; `destroy` is called on the body either way.
 */
export async function readBody(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  maxBytes: number,
  contentLength?: string | string[],
): Promise<Buffer> {
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    throw new BodyTooLargeError(`Content-Length ${declared} exceeds ${maxBytes} bytes`);
  }
  if (Number.isSafeInteger(declared) && declared > 0) {
    const bytes = Buffer.allocUnsafe(declared);
    let length = 0;
    for await (const chunk of body) {
      if (length + chunk.length > declared) {
        body.destroy();
        throw new SyntaxError('body longer than its Content-Length');
      }
      length += chunk.copy(bytes, length);
    }
    return bytes.subarray(0, length);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy();
      throw new BodyTooLargeError(`body exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
