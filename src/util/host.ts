// `host:port` for a URL or a Prometheus target: an IPv6 literal needs brackets, anything else is written as is.

export function hostPort(host: string, port: number | string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
