/** Number formatting for display, done on the decimal strings themselves (no float rounding). */

import { decToString, parseDecimal } from './decimal';

const DASH = '–';

/** Round a decimal string half away from zero to ``decimals`` places, exactly. */
export function roundDecimal(text: string, decimals: number): string {
  const value = parseDecimal(text);
  if (value === null) return text;
  if (value.scale <= decimals) {
    return decToString({ units: value.units * 10n ** BigInt(decimals - value.scale), scale: decimals });
  }
  const divisor = 10n ** BigInt(value.scale - decimals);
  const negative = value.units < 0n;
  const magnitude = negative ? -value.units : value.units;
  let rounded = magnitude / divisor;
  if ((magnitude % divisor) * 2n >= divisor) rounded += 1n;
  return decToString({ units: negative ? -rounded : rounded, scale: decimals });
}

function groupThousands(whole: string): string {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * "1234567.5" -> "1,234,567.5"; with ``decimals``, rounded/padded to that many places.
 * null, undefined or unparseable text shows as a dash.
 */
export function formatDecimal(text: string | null | undefined, decimals?: number): string {
  if (text === null || text === undefined || parseDecimal(text) === null) return DASH;
  const fixed = decimals === undefined ? text.trim() : roundDecimal(text, decimals);
  const negative = fixed.startsWith('-');
  const [whole, fraction] = (negative ? fixed.slice(1) : fixed).split('.');
  const grouped = groupThousands(whole) + (fraction !== undefined ? `.${fraction}` : '');
  return negative && !/^[0.]+$/.test(grouped.replace(/,/g, '')) ? `-${grouped}` : grouped;
}

/** A change with its sign: "+1.20", "-0.35", "0.00". */
export function formatSigned(text: string | null | undefined, decimals?: number): string {
  const body = formatDecimal(text, decimals);
  if (body === DASH || body.startsWith('-')) return body;
  return /[1-9]/.test(body) ? `+${body}` : body;
}

/** "2.35" -> "+2.35%"; null -> a dash. */
export function formatPercent(text: string | null | undefined): string {
  const body = formatSigned(text, 2);
  return body === DASH ? DASH : `${body}%`;
}

export type Direction = 'up' | 'down' | 'flat';

/** Which colour a change gets. */
export function direction(text: string | null | undefined): Direction {
  if (!text) return 'flat';
  const value = parseDecimal(text);
  if (value === null || value.units === 0n) return 'flat';
  return value.units > 0n ? 'up' : 'down';
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** "HH:MM:SS" of a millisecond epoch time, in the browser's time zone. */
export function formatTime(ms: number): string {
  const date = new Date(ms);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** "YYYY-MM-DD HH:MM:SS" of a millisecond epoch time, in the browser's time zone. */
export function formatDateTime(ms: number): string {
  const date = new Date(ms);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${formatTime(ms)}`;
}
