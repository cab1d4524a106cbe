// The attempts-over-time chart as hand-drawn SVG: no library, no script, and only
// presentation attributes (no style attributes), so the strict CSP holds.
import { html, type SafeHtml } from './html.ts';

export interface Series {
  label: string;
  values: number[];
}

export interface ChartInput {
  /** Start of each bucket, ms since the epoch, ascending; one per value of every series. */
  bucketStartsMs: number[];
  series: Series[];
  title: string;
  /** Spans to shade behind the lines: when a login shield was up. */
  marks?: ChartMark[];
}

export interface ChartMark {
  fromMs: number;
  untilMs: number;
  label: string;
}

// Distinguishable for common colour blindness and at least 4.5:1 on white.
export const SERIES_COLOURS = ['#0b62a4', '#c2410c', '#047857', '#7c3aed', '#b91c1c', '#0e7490', '#a16207', '#be185d'];

/**
 * SVG text scales with its viewBox: drawn 1100 wide and shown 330 wide on a phone, 11-unit
 * labels would be 3 px high. So there are two drawings, and the stylesheet shows the one
 * whose width is near the width it gets: labels stay 10-13 px on a phone and on a desktop.
 */
export interface ChartSize {
  name: 'wide' | 'narrow';
  width: number;
  height: number;
  pad: { left: number; right: number; top: number; bottom: number };
  fontSize: number;
  /** Hours between labelled ticks on the time axis. */
  tickHours: number;
  /** The "UTC" note: beside the last tick (wide) or under the axis (narrow, no room beside). */
  unitBelow: boolean;
}

export const CHART_SIZES: readonly ChartSize[] = [
  { name: 'wide', width: 1100, height: 300, pad: { left: 56, right: 44, top: 14, bottom: 32 }, fontSize: 11, tickHours: 3, unitBelow: false },
  { name: 'narrow', width: 400, height: 280, pad: { left: 44, right: 18, top: 14, bottom: 50 }, fontSize: 13, tickHours: 6, unitBelow: true },
];

/** A round axis maximum and step with at most five gridlines. */
export function niceScale(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 4, step: 1 };
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude);
  const wholeStep = Math.max(1, step);
  return { top: Math.ceil(max / wholeStep) * wholeStep, step: wholeStep };
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const fmt = (n: number) => n.toLocaleString('en-US');
const r1 = (n: number) => Math.round(n * 10) / 10;

export function attemptsChart(input: ChartInput, size: ChartSize = CHART_SIZES[0]!): SafeHtml {
  const { width: W, height: H, pad: PAD, fontSize } = size;
  const PLOT_W = W - PAD.left - PAD.right;
  const PLOT_H = H - PAD.top - PAD.bottom;
  const id = (name: string) => (size.name === 'wide' ? name : `${name}-${size.name}`);
  const n = input.bucketStartsMs.length;
  const max = Math.max(0, ...input.series.flatMap((s) => s.values));
  const { top, step } = niceScale(max);
  const x = (i: number) => r1(PAD.left + (n <= 1 ? PLOT_W / 2 : (i / (n - 1)) * PLOT_W));
  const y = (v: number) => r1(PAD.top + PLOT_H - (v / top) * PLOT_H);
  const total = input.series.reduce((sum, s) => sum + s.values.reduce((a, b) => a + b, 0), 0);

  const grid = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(html`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="${v === 0 ? '#94a3b8' : '#e2e8f0'}" stroke-width="1"/>
      <text x="${PAD.left - 6}" y="${r1(y(v) + fontSize / 3)}" text-anchor="end" font-size="${fontSize}" fill="#475569">${fmt(v)}</text>`);
  }
  // A label every few hours, on the hour, whatever the bucket size.
  const ticks = [];
  const labelY = PAD.top + PLOT_H + 6 + fontSize;
  for (let i = 0; i < n; i++) {
    const ms = input.bucketStartsMs[i]!;
    if (ms % (size.tickHours * 3600_000) === 0) {
      ticks.push(html`<line x1="${x(i)}" x2="${x(i)}" y1="${PAD.top + PLOT_H}" y2="${PAD.top + PLOT_H + 4}" stroke="#94a3b8"/>
        <text x="${x(i)}" y="${labelY}" text-anchor="middle" font-size="${fontSize}" fill="#475569">${hhmm(ms)}</text>`);
    }
  }
  const lines = input.series.map((s, k) => {
    const colour = SERIES_COLOURS[k % SERIES_COLOURS.length]!;
    const points = s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ');
    const area = `${x(0)},${y(0)} ${points} ${x(n - 1)},${y(0)}`;
    return html`<g><title>${s.label}: ${fmt(s.values.reduce((a, b) => a + b, 0))} attempts</title>
      <polygon points="${area}" fill="${colour}" fill-opacity="${input.series.length > 1 ? 0.06 : 0.14}"/>
      <polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/></g>`;
  });
  // Time → x between the first and last bucket start, clamped to the plot.
  const first = input.bucketStartsMs[0] ?? 0;
  const last = input.bucketStartsMs[n - 1] ?? first;
  const xAt = (ms: number) => r1(PAD.left + (last === first ? 0 : (Math.min(last, Math.max(first, ms)) - first) / (last - first)) * PLOT_W);
  const marks = (input.marks ?? []).map((m) => {
    const x1 = xAt(m.fromMs);
    const width = Math.max(2, r1(xAt(m.untilMs) - x1));
    return html`<g class="shield-mark"><title>${m.label}</title>
      <rect x="${x1}" y="${PAD.top}" width="${width}" height="${PLOT_H}" fill="#f59e0b" fill-opacity="0.18" stroke="#b45309" stroke-opacity="0.5" stroke-dasharray="3 3"/></g>`;
  });
  const empty = total === 0
    ? html`<text x="${PAD.left + PLOT_W / 2}" y="${PAD.top + PLOT_H / 2}" text-anchor="middle" font-size="${fontSize + 3}" fill="#475569">No failed attempts in this period</text>`
    : '';

  const unit = size.unitBelow
    ? html`<text x="${W - PAD.right}" y="${labelY + fontSize + 8}" text-anchor="end" font-size="${fontSize}" fill="#475569">time in UTC</text>`
    : html`<text x="${W - 4}" y="${labelY}" text-anchor="end" font-size="${fontSize}" fill="#475569">UTC</text>`;
  return html`<svg class="chart chart-${size.name}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id('chart-title')} ${id('chart-desc')}" xmlns="http://www.w3.org/2000/svg">
    <title id="${id('chart-title')}">${input.title}</title>
    <desc id="${id('chart-desc')}">${fmt(total)} failed attempts in ${input.series.length} series; the table below the chart has the numbers.</desc>
    ${grid}${marks}${ticks}${lines}${empty}
    ${unit}
  </svg>`;
}
