// The overhead chart, hand-written SVG: a row per broker, a cell per path, each cell on its own scale (a path
// whose sends cost a millisecond would otherwise flatten another's bars of tens of µs), one bar per traced
// variant (brokertrace, the peer, the floor; sampled and not), height = CPU overhead per message over the
// baseline of the same round. A dash over each brokertrace bar marks its target (issue 12); under each
// group, brokertrace's ratios to the floor and to the peer, red where the target is not met.
import { checkTargets, cpuTarget, findCase, TARGET_VS_FLOOR, type CaseFigures, type TargetCheck } from './stats.js';
import type { BrokerName, PathName } from './types.js';

interface Series {
  label: string;
  color: string;
  pick: (c: CaseFigures) => boolean;
}

const SERIES: Series[] = [
  { label: 'brokertrace, sampled', color: '#1f77b4', pick: (c) => c.variant === 'brokertrace' && c.sampled },
  { label: 'peer, sampled', color: '#ff7f0e', pick: (c) => c.variant === 'peer' && c.sampled },
  { label: 'floor, sampled', color: '#2ca02c', pick: (c) => c.variant === 'floor' && c.sampled },
  { label: 'brokertrace, not sampled', color: '#9ecae1', pick: (c) => c.variant === 'brokertrace' && !c.sampled },
  { label: 'peer, not sampled', color: '#fdd0a2', pick: (c) => c.variant === 'peer' && !c.sampled },
  { label: 'floor, not sampled', color: '#a1d99b', pick: (c) => c.variant === 'floor' && !c.sampled },
];
/** Series per legend row (sampled, then not sampled). */
const LEGEND_COLUMNS = 3;

const BAR = 22;
/** The y axis title's margin, then cells: each its own tick labels, its bars, a gap. */
const LEFT = 28;
const RIGHT = 10;
const CELL_AXIS = 42;
const CELL_PAD = 16;
const BARS_WIDTH = SERIES.length * BAR;
const CELL_WIDTH = CELL_AXIS + BARS_WIDTH + CELL_PAD;
const PLOT_HEIGHT = 140;
/** Panel title above the plots; path name and two ratio lines below them. */
const PANEL_HEAD = 34;
const PANEL_FOOT = 58;
const HEADER = 122;
const MET = '#333';
const NOT_MET = '#c0392b';

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step for axis ticks: 1, 2 or 5 times a power of ten, giving about four ticks. */
function tickStep(span: number): number {
  const raw = span / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw) ?? power * 10;
}

/** A bar's value: whole µs from 100 on, so that the label stays about as wide as its bar. */
const barLabel = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));

const ratioText = (ratio: number | undefined, met: boolean | undefined): { text: string; color: string } =>
  met === undefined ? { text: '-', color: MET } : { text: ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}x`, color: met ? MET : NOT_MET };

/**
 * One path of one broker, at (`x0`, `plotTop`), on its own scale: a path whose sends cost a millisecond would
 * otherwise flatten the bars of tens of µs beside it, and what is compared is the bars of one path.
 */
function cell(broker: BrokerName, path: PathName, cases: readonly CaseFigures[], targets: readonly TargetCheck[], x0: number, plotTop: number): string[] {
  const values = SERIES.map((s) => cases.find((c) => c.broker === broker && c.path === path && s.pick(c))?.overheadUsPerMsg);
  // The lower of 1.25x the floor's overhead and the peer's, drawn over brokertrace's bars.
  const dashes = SERIES.map((s) => {
    if (!s.label.startsWith('brokertrace')) return undefined;
    const sampled = !s.label.endsWith('not sampled');
    return cpuTarget(findCase(cases, broker, path, sampled, 'floor'), findCase(cases, broker, path, sampled, 'peer'));
  });
  const all = [...values, ...dashes].filter((v): v is number => v !== undefined && Number.isFinite(v));
  const high = Math.max(1, ...all);
  const low = Math.min(0, ...all);
  const step = tickStep(high - low);
  // Room for the labels over the bars, rounded to a fifth of a tick: no empty tick band above or below.
  const fine = step / 5;
  const top = Math.ceil((high + (high - low) * 0.12) / fine) * fine;
  const bottom = low < 0 ? Math.floor((low - (high - low) * 0.1) / fine) * fine : 0;
  const y = (v: number): number => plotTop + ((top - v) / (top - bottom)) * PLOT_HEIGHT;
  const barsX = x0 + CELL_AXIS;

  const out: string[] = [];
  for (let v = Math.ceil(bottom / step) * step; v <= top + fine / 2; v += step) {
    const label = Number(v.toFixed(6)).toString();
    out.push(
      `<line x1="${barsX - 4}" x2="${barsX + BARS_WIDTH + 2}" y1="${y(v)}" y2="${y(v)}" stroke="${Math.abs(v) < fine / 2 ? '#000' : '#ddd'}"/>`,
      `<text x="${barsX - 7}" y="${y(v) + 4}" text-anchor="end" font-size="10" fill="#444">${label}</text>`,
    );
  }
  values.forEach((v, si) => {
    if (v === undefined || !Number.isFinite(v)) return;
    const x = barsX + si * BAR;
    const [yTop, yBottom] = v >= 0 ? [y(v), y(0)] : [y(0), y(v)];
    out.push(
      `<rect x="${x}" y="${yTop}" width="${BAR - 2}" height="${Math.max(0.5, yBottom - yTop)}" fill="${SERIES[si]?.color}"/>`,
      `<text x="${x + (BAR - 2) / 2}" y="${v >= 0 ? yTop - 3 : yBottom + 10}" text-anchor="middle" font-size="9">${barLabel(v)}</text>`,
    );
  });
  dashes.forEach((t, si) => {
    if (t === undefined) return;
    const x = barsX + si * BAR;
    out.push(`<line x1="${x - 3}" x2="${x + BAR + 1}" y1="${y(t)}" y2="${y(t)}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`);
  });
  const cx = barsX + BARS_WIDTH / 2;
  const base = plotTop + PLOT_HEIGHT;
  out.push(`<text x="${cx}" y="${base + 16}" text-anchor="middle" font-weight="bold">${escape(path)}</text>`);
  const rows = [true, false].map((sampled) => targets.find((t) => t.broker === broker && t.path === path && t.sampled === sampled));
  // A small table: the label, the sampled ratio (bold), the not-sampled one, each in a column of its own.
  const line = (label: string, pick: (t: TargetCheck) => { text: string; color: string }, dy: number): void => {
    const [on, off] = rows.map((t) => (t ? pick(t) : { text: '-', color: MET }));
    const yy = base + dy;
    out.push(
      `<text x="${cx - 20}" y="${yy}" text-anchor="end" font-size="10" fill="#555">${label}</text>`,
      `<text x="${cx + 22}" y="${yy}" text-anchor="end" font-size="10" font-weight="bold" fill="${on?.color}">${on?.text}</text>`,
      `<text x="${cx + 29}" y="${yy}" text-anchor="middle" font-size="10" fill="#555">/</text>`,
      `<text x="${cx + 68}" y="${yy}" text-anchor="end" font-size="10" fill="${off?.color}">${off?.text}</text>`,
    );
  };
  line('vs floor', (t) => ratioText(t.vsFloor, t.floorMet), 31);
  line('vs peer', (t) => ratioText(t.vsPeer, t.peerMet), 45);
  return out;
}

/** One broker's row, its top at `y0`: its title and peer, then a cell per path. */
function panel(broker: BrokerName, paths: PathName[], cases: readonly CaseFigures[], targets: readonly TargetCheck[], peer: string | undefined, y0: number): string[] {
  const plotTop = y0 + PANEL_HEAD;
  return [
    `<text x="${LEFT}" y="${y0 + 16}" font-size="13" font-weight="bold">${escape(broker)}<tspan font-weight="normal" fill="#555">${peer ? `  peer: ${escape(peer)}` : ''}</tspan></text>`,
    `<text x="14" y="${plotTop + PLOT_HEIGHT / 2}" transform="rotate(-90 14 ${plotTop + PLOT_HEIGHT / 2})" text-anchor="middle" fill="#555">µs / message</text>`,
    ...paths.flatMap((path, i) => cell(broker, path, cases, targets, LEFT + i * CELL_WIDTH, plotTop)),
  ];
}

/**
 * The chart of `cases`, a panel per broker in the order of the cases; `peers` names each broker's peer in its
 * panel's title.
 */
export function overheadChart(cases: readonly CaseFigures[], peers: Partial<Record<BrokerName, string>> = {}): string {
  const brokers = [...new Set(cases.map((c) => c.broker))];
  const pathsOf = (broker: BrokerName): PathName[] => [...new Set(cases.filter((c) => c.broker === broker).map((c) => c.path))];
  const targets = checkTargets(cases);
  const groups = Math.max(1, ...brokers.map((b) => pathsOf(b).length));
  const width = Math.max(760, LEFT + groups * CELL_WIDTH + RIGHT);
  const panelHeight = PANEL_HEAD + PLOT_HEIGHT + PANEL_FOOT;
  const height = HEADER + brokers.length * panelHeight + 10;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">brokertrace vs the floor and each client's peer instrumentation</text>`,
    `<text x="${LEFT}" y="40" fill="#555">Client CPU per message over no instrumentation, µs (median of per-round differences). Each path on its own scale.</text>`,
  ];
  SERIES.forEach((s, i) => {
    const x = LEFT + (i % LEGEND_COLUMNS) * 210;
    const yy = 62 + Math.floor(i / LEGEND_COLUMNS) * 17;
    out.push(`<rect x="${x}" y="${yy - 10}" width="12" height="12" fill="${s.color}"/>`, `<text x="${x + 18}" y="${yy}">${escape(s.label)}</text>`);
  });
  out.push(
    `<line x1="${LEFT - 2}" x2="${LEFT + 14}" y1="${98}" y2="${98}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`,
    `<text x="${LEFT + 18}" y="${102}">target for brokertrace: at most ${TARGET_VS_FLOOR}x the floor's overhead and no more than the peer's (the lower of the two)</text>`,
    `<text x="${LEFT + 18}" y="${117}">under each path: brokertrace's overhead / the floor's and / the peer's, <tspan font-weight="bold">sampled</tspan> / not sampled; <tspan fill="${NOT_MET}">red</tspan>: target not met</text>`,
  );
  brokers.forEach((broker, i) => out.push(...panel(broker, pathsOf(broker), cases, targets, peers[broker], HEADER + i * panelHeight)));
  out.push('</svg>', '');
  return out.join('\n');
}
