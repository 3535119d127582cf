import { describe, expect, it } from 'vitest';

import {
  addDecimal, compareDecimal, decimalsOf, isOnGrid, multiplyDecimal, normalizeDecimal, parseDecimal, subtractDecimal,
} from '@/lib/decimal';
import { direction, formatDecimal, formatPercent, formatSigned, roundDecimal } from '@/lib/format';

describe('decimal', () => {
  it('parses plain decimals only', () => {
    expect(parseDecimal('101.50')).toEqual({ units: 10150n, scale: 2 });
    expect(parseDecimal('-0.5')).toEqual({ units: -5n, scale: 1 });
    for (const bad of ['', '1e3', '1.', '.5', 'abc', '1,000', 'NaN']) expect(parseDecimal(bad)).toBeNull();
  });

  it('is exact where floats are not', () => {
    expect(addDecimal('0.1', '0.2')).toBe('0.3');
    expect(multiplyDecimal('101.15', '3')).toBe('303.45');
    expect(multiplyDecimal('0.07', '100')).toBe('7.00');
    expect(subtractDecimal('101.00', '100.99')).toBe('0.01');
    expect(subtractDecimal('1', '1.25')).toBe('-0.25');
    expect(addDecimal('99999999999999999.99', '0.01')).toBe('100000000000000000.00');
  });

  it('compares across scales', () => {
    expect(compareDecimal('101.5', '101.50')).toBe(0);
    expect(compareDecimal('9.99', '10')).toBe(-1);
    expect(compareDecimal('100.01', '100.001')).toBe(1);
  });

  it('normalizes and counts decimals', () => {
    expect(normalizeDecimal('101.50')).toBe('101.5');
    expect(normalizeDecimal('10.00')).toBe('10');
    expect(decimalsOf('0.01')).toBe(2);
    expect(decimalsOf('1')).toBe(0);
    expect(decimalsOf('0.50')).toBe(1);
  });

  it('checks the grid exactly', () => {
    expect(isOnGrid('101.25', '0.05')).toBe(true);
    expect(isOnGrid('101.26', '0.05')).toBe(false);
    expect(isOnGrid('0', '0.01')).toBe(false);
    expect(isOnGrid('3', '1')).toBe(true);
    expect(isOnGrid('3.5', '1')).toBe(false);
  });
});

describe('format', () => {
  it('groups thousands without touching the digits', () => {
    expect(formatDecimal('1234567.891')).toBe('1,234,567.891');
    expect(formatDecimal('100000.00')).toBe('100,000.00');
    expect(formatDecimal('999')).toBe('999');
    expect(formatDecimal('-1234.5')).toBe('-1,234.5');
  });

  it('rounds half away from zero and pads to the requested places', () => {
    expect(formatDecimal('101.625', 2)).toBe('101.63');
    expect(formatDecimal('101.624999', 2)).toBe('101.62');
    expect(formatDecimal('1', 2)).toBe('1.00');
    expect(formatDecimal('9999.995', 2)).toBe('10,000.00');
    expect(roundDecimal('-0.005', 2)).toBe('-0.01');
    expect(formatDecimal('-0.001', 2)).toBe('0.00');
  });

  it('shows a dash for nothing', () => {
    expect(formatDecimal(null)).toBe('–');
    expect(formatDecimal(undefined)).toBe('–');
    expect(formatDecimal('n/a')).toBe('–');
    expect(formatPercent(null)).toBe('–');
  });

  it('signs changes and percentages', () => {
    expect(formatSigned('1.2', 2)).toBe('+1.20');
    expect(formatSigned('-0.35')).toBe('-0.35');
    expect(formatSigned('0.00')).toBe('0.00');
    expect(formatPercent('2.35')).toBe('+2.35%');
    expect(formatPercent('-10.00')).toBe('-10.00%');
  });

  it('gives a change its colour', () => {
    expect(direction('0.01')).toBe('up');
    expect(direction('-3')).toBe('down');
    expect(direction('0.00')).toBe('flat');
    expect(direction(null)).toBe('flat');
  });
});
