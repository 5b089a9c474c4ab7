// The overhead chart, hand-written SVG: one group of bars per broker path, one bar per traced variant
// (brokertrace, the peer, the floor; sampled and unsampled), height = CPU overhead per message over the
// baseline of the same round; a dash over each brokertrace bar marks its target (issue 12).
import { cpuTarget, findCase, TARGET_VS_FLOOR, type CaseFigures } from './stats.js';

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

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step for axis ticks: 1, 2 or 5 times a power of ten, giving about five ticks. */
function tickStep(span: number): number {
  const raw = span / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw) ?? power * 10;
}

export function overheadChart(cases: readonly CaseFigures[], title: string): string {
  const groups = [...new Map(cases.map((c) => [`${c.broker} ${c.path}`, { broker: c.broker, path: c.path }] as const)).values()];
  const values = groups.map((g) =>
    SERIES.map((s) => cases.find((c) => c.broker === g.broker && c.path === g.path && s.pick(c))?.overheadUsPerMsg),
  );
  // The target, drawn over brokertrace's bars: the lower of 1.25x the floor's overhead and the peer's.
  const targets = groups.map((g) =>
    SERIES.map((s) => {
      if (!s.label.startsWith('brokertrace')) return undefined;
      const sampled = !s.label.endsWith('not sampled');
      return cpuTarget(findCase(cases, g.broker, g.path, sampled, 'floor'), findCase(cases, g.broker, g.path, sampled, 'peer'));
    }),
  );
  const all = values.flat().filter((v): v is number => v !== undefined && Number.isFinite(v));
  const step = tickStep(Math.max(1, ...all) - Math.min(0, ...all));
  const top = Math.ceil(Math.max(step, ...all) / step) * step;
  const bottom = Math.floor(Math.min(0, ...all) / step) * step;

  const bar = 20;
  const gap = 24;
  const groupWidth = SERIES.length * bar + gap;
  const left = 70;
  const plotTop = 60;
  const plotHeight = 300;
  const width = Math.max(720, left + groups.length * groupWidth + 20);
  const height = plotTop + plotHeight + 110;
  const y = (v: number): number => plotTop + ((top - v) / (top - bottom)) * plotHeight;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
    `<text x="${left}" y="40" fill="#555">Client CPU per message over no instrumentation, µs (median of per-round differences); dashes: targets</text>`,
  ];
  for (let v = bottom; v <= top + step / 2; v += step) {
    const label = Number(v.toFixed(6)).toString();
    out.push(
      `<line x1="${left}" x2="${width - 20}" y1="${y(v)}" y2="${y(v)}" stroke="${v === 0 ? '#000' : '#ddd'}"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${label}</text>`,
    );
  }
  groups.forEach((g, gi) => {
    const x0 = left + gap / 2 + gi * groupWidth;
    values[gi]?.forEach((v, si) => {
      if (v === undefined || !Number.isFinite(v)) return;
      const x = x0 + si * bar;
      const [yTop, yBottom] = v >= 0 ? [y(v), y(0)] : [y(0), y(v)];
      out.push(
        `<rect x="${x}" y="${yTop}" width="${bar - 2}" height="${Math.max(0.5, yBottom - yTop)}" fill="${SERIES[si]?.color}"/>`,
        `<text x="${x + (bar - 2) / 2}" y="${v >= 0 ? yTop - 3 : yBottom + 11}" text-anchor="middle" font-size="9">${v.toFixed(1)}</text>`,
      );
    });
    targets[gi]?.forEach((t, si) => {
      if (t === undefined) return;
      const x = x0 + si * bar;
      out.push(`<line x1="${x - 3}" x2="${x + bar + 1}" y1="${y(t)}" y2="${y(t)}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`);
    });
    const cx = x0 + (SERIES.length * bar) / 2;
    out.push(
      `<text x="${cx}" y="${plotTop + plotHeight + 18}" text-anchor="middle" font-weight="bold">${escape(g.broker)}</text>`,
      `<text x="${cx}" y="${plotTop + plotHeight + 32}" text-anchor="middle">${escape(g.path)}</text>`,
    );
  });
  SERIES.forEach((s, i) => {
    const x = left + (i % LEGEND_COLUMNS) * 200;
    const yy = plotTop + plotHeight + 58 + Math.floor(i / LEGEND_COLUMNS) * 18;
    out.push(`<rect x="${x}" y="${yy - 10}" width="12" height="12" fill="${s.color}"/>`, `<text x="${x + 18}" y="${yy}">${escape(s.label)}</text>`);
  });
  const legendY = plotTop + plotHeight + 94;
  out.push(
    `<line x1="${left - 2}" x2="${left + 14}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`,
    `<text x="${left + 18}" y="${legendY}">target for brokertrace: at most ${TARGET_VS_FLOOR}x the floor's overhead and no more than the peer's (the lower of the two)</text>`,
  );
  out.push('</svg>', '');
  return out.join('\n');
}
