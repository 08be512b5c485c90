import { UnsafeValueError } from './errors.ts';

/** A database endpoint as PgBouncer's `[databases]` section names it. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

// RFC 1123 labels joined by dots; no trailing dot so the ini value stays one token.
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/** True for a DNS name or an IP literal: nothing that could end a value or start another line in an ini. */
export function isSafeHost(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (IPV4.test(value)) return true;
  if (value.includes(':')) return IPV6.test(value) && value.split(':').length >= 3;
  return DNS_NAME.test(value);
}

export function isValidPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/**
 * Returns the endpoint if both parts are safe to write into pgbouncer.ini, else throws
 * UnsafeValueError naming the field (never echoing more than a short, escaped excerpt of the value).
 */
export function assertSafeEndpoint(endpoint: { host: unknown; port: unknown }, field: string): Endpoint {
  if (!isSafeHost(endpoint.host)) {
    throw new UnsafeValueError(`${field}.host must be a DNS name or an IP literal, got ${excerpt(endpoint.host)}`);
  }
  if (!isValidPort(endpoint.port)) {
    throw new UnsafeValueError(`${field}.port must be an integer from 1 to 65535, got ${excerpt(endpoint.port)}`);
  }
  return { host: endpoint.host, port: endpoint.port };
}

export function sameEndpoint(a: Endpoint | null | undefined, b: Endpoint | null | undefined): boolean {
  if (!a || !b) return a === b;
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port;
}

export function formatEndpoint(endpoint: Endpoint | null | undefined): string {
  return endpoint ? `${endpoint.host}:${endpoint.port}` : '(none)';
}

function excerpt(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
