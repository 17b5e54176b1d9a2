import type { Request } from 'express';

/**
 * Where the client reached zcloud: `https://console.example.com` behind a TLS ingress when the
 * ingress is a trusted proxy (ZCLOUD_TRUSTED_PROXIES, Express `trust proxy`: then
 * X-Forwarded-Proto and X-Forwarded-Host are believed), else the scheme and Host of the
 * connection itself. Links and the same-origin check of cookie sessions both use it.
 */
export function requestOrigin(req: Request): string {
  return `${req.protocol}://${req.host ?? 'localhost'}`;
}

/** The client's address: the socket's peer, or X-Forwarded-For as told by trusted proxies only. */
export function sourceAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? '';
}
