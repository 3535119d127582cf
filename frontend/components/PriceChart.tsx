'use client';

import {
  CandlestickSeries, ColorType, createChart, HistogramSeries,
  type CandlestickData, type HistogramData, type IChartApi, type ISeriesApi, type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useRef, useState } from 'react';

import { useStream } from '@/hooks/useStream';
import { describeError } from '@/lib/api';
import { decimalsOf } from '@/lib/decimal';
import type { Kline, MarketInfo } from '@/lib/types';

import { useExchange } from './ExchangeProvider';

const INTERVALS = ['1s', '1m', '1h'] as const;
type Interval = (typeof INTERVALS)[number];

const UP = '#26a69a';
const DOWN = '#ef5350';

interface Series {
  chart: IChartApi;
  candles: ISeriesApi<'Candlestick'>;
  volume: ISeriesApi<'Histogram'>;
}

// Numbers only for drawing: the chart library takes floats; nothing here goes back to the API.
function toCandle(k: Kline): CandlestickData<UTCTimestamp> {
  return {
    time: (k.openTime / 1000) as UTCTimestamp,
    open: Number(k.open),
    high: Number(k.high),
    low: Number(k.low),
    close: Number(k.close),
  };
}

function toVolume(k: Kline): HistogramData<UTCTimestamp> {
  return {
    time: (k.openTime / 1000) as UTCTimestamp,
    value: Number(k.volume),
    color: Number(k.close) >= Number(k.open) ? `${UP}80` : `${DOWN}80`,
  };
}

/** Candles with volume: history from GET /klines, then the current candle from `kline.I@M`. */
export function PriceChart({ market }: { market: MarketInfo }) {
  const { api, epoch, setNotice } = useExchange();
  const [interval, setChartInterval] = useState<Interval>('1m');
  const [summary, setSummary] = useState<{ count: number; last: Kline | null }>({ count: 0, last: null });
  const container = useRef<HTMLDivElement>(null);
  const series = useRef<Series | null>(null);
  const bars = useRef<Map<number, Kline>>(new Map()); // by openTime: what the chart shows

  const show = (kline: Kline | null) => setSummary({ count: bars.current.size, last: kline });

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const chart = createChart(element, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#9aa4b2' },
      grid: { vertLines: { color: '#1f2a3a' }, horzLines: { color: '#1f2a3a' } },
      timeScale: { timeVisible: true, secondsVisible: interval === '1s', borderColor: '#2a3547' },
      rightPriceScale: { borderColor: '#2a3547' },
    });
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
      priceFormat: { type: 'price', precision: decimalsOf(market.tickSize), minMove: Number(market.tickSize) },
    });
    const volume = chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: '' });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    series.current = { chart, candles, volume };
    bars.current = new Map();
    show(null);

    let live = true;
    api.klines(market.symbol, interval, 500).then(
      (history) => {
        if (!live) return;
        // a live candle that arrived before the history is newer than the history's copy of it
        for (const k of history) if (!bars.current.has(k.openTime)) bars.current.set(k.openTime, k);
        const all = [...bars.current.values()].sort((a, b) => a.openTime - b.openTime);
        candles.setData(all.map(toCandle));
        volume.setData(all.map(toVolume));
        chart.timeScale().fitContent();
        show(all[all.length - 1] ?? null);
      },
      (error) => live && setNotice(describeError(error)),
    );
    return () => {
      live = false;
      series.current = null;
      chart.remove();
    };
  }, [api, market, interval, epoch, setNotice]); // epoch: reload what a lost connection missed

  useStream<Kline>(`kline.${interval}@${market.symbol}`, (kline) => {
    const current = series.current;
    if (!current) return;
    const newest = Math.max(0, ...bars.current.keys());
    bars.current.set(kline.openTime, kline);
    if (kline.openTime < newest) return; // the chart updates only its newest bar; the next load has it
    current.candles.update(toCandle(kline));
    current.volume.update(toVolume(kline));
    show(kline);
  });

  return (
    <section
      className="panel chart"
      data-testid="price-chart"
      data-interval={interval}
      data-candles={summary.count}
      data-last-close={summary.last?.close ?? ''}
    >
      <div className="chart-head">
        <h2>Chart</h2>
        <div className="segmented" role="group" aria-label="interval">
          {INTERVALS.map((value) => (
            <button
              key={value}
              type="button"
              className={value === interval ? 'active' : ''}
              data-testid={`interval-${value}`}
              onClick={() => setChartInterval(value)}
            >
              {value}
            </button>
          ))}
        </div>
      </div>
      <div className="chart-canvas" ref={container}>
        {summary.count === 0 && <p className="chart-empty muted">No trades in this market yet.</p>}
      </div>
    </section>
  );
}

