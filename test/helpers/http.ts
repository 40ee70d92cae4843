import { request } from 'node:http';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface GetOptions {
  method?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** node:http rather than fetch: fetch cannot send a foreign Host header, and hides redirects' bodies. */
export function httpGet(
  url: string,
  { method = 'GET', headers = {}, timeoutMs = 5_000 }: GetOptions = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}
