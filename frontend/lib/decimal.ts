/**
 * Exact decimal strings ("101.50") as BigInt units and a scale: compare, add, subtract, multiply.
 *
 * Money never goes through binary floats here: what the UI sends back to the API is the user's own
 * text or a result of these functions. Number() is used only for display (bar widths, the chart).
 */

export interface Dec {
  units: bigint; // value = units / 10^scale
  scale: number;
}

const PATTERN = /^(-)?(\d+)(?:\.(\d+))?$/;

/** Parse "123", "-0.5", "101.50"; null when the text is not a plain decimal. */
export function parseDecimal(text: string): Dec | null {
  const match = PATTERN.exec(text.trim());
  if (!match) return null;
  const [, sign, whole, fraction = ''] = match;
  const units = BigInt(whole + fraction);
  return { units: sign ? -units : units, scale: fraction.length };
}

function must(text: string): Dec {
  const value = parseDecimal(text);
  if (value === null) throw new Error(`not a decimal: ${JSON.stringify(text)}`);
  return value;
}

function rescale(value: Dec, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

/** The plain text of ``units / 10^scale`` with exactly ``scale`` decimals. */
export function decToString(value: Dec): string {
  const negative = value.units < 0n;
  let digits = (negative ? -value.units : value.units).toString();
  if (value.scale > 0) {
    digits = digits.padStart(value.scale + 1, '0');
    digits = `${digits.slice(0, -value.scale)}.${digits.slice(-value.scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

/** -1, 0 or 1, exactly: "101.5" and "101.50" are equal. */
export function compareDecimal(a: string, b: string): number {
  const x = must(a);
  const y = must(b);
  const scale = Math.max(x.scale, y.scale);
  const diff = rescale(x, scale) - rescale(y, scale);
  return diff < 0n ? -1 : diff > 0n ? 1 : 0;
}

export function addDecimal(a: string, b: string): string {
  const x = must(a);
  const y = must(b);
  const scale = Math.max(x.scale, y.scale);
  return decToString({ units: rescale(x, scale) + rescale(y, scale), scale });
}

export function subtractDecimal(a: string, b: string): string {
  const x = must(a);
  const y = must(b);
  const scale = Math.max(x.scale, y.scale);
  return decToString({ units: rescale(x, scale) - rescale(y, scale), scale });
}

export function multiplyDecimal(a: string, b: string): string {
  const x = must(a);
  const y = must(b);
  return decToString({ units: x.units * y.units, scale: x.scale + y.scale });
}

export function isZero(text: string): boolean {
  return must(text).units === 0n;
}

/** Drop trailing fractional zeros: "101.50" -> "101.5", "10.00" -> "10" (a stable key for a price). */
export function normalizeDecimal(text: string): string {
  const value = must(text);
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return decToString({ units, scale });
}

/** The number of decimals of a step such as a tickSize: "0.01" -> 2, "1" -> 0. */
export function decimalsOf(step: string): number {
  return parseDecimal(normalizeDecimal(step))?.scale ?? 0;
}

/** Whether ``text`` is a positive multiple of ``step`` (the API's grid rule), exactly. */
export function isOnGrid(text: string, step: string): boolean {
  const x = parseDecimal(text);
  const s = parseDecimal(step);
  if (x === null || s === null || x.units <= 0n || s.units <= 0n) return false;
  const scale = Math.max(x.scale, s.scale);
  return rescale(x, scale) % rescale(s, scale) === 0n;
}
