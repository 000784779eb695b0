// A small line-chart writer for benchmark figures: plain SVG text, no
// dependencies, readable in a browser and on GitHub. Axes with "nice" ticks,
// any number of series, vertical markers for events (numbered, with their
// labels listed under the plot, as the ZooKeeper paper's Figure 8 does).

export interface ChartSeries {
  name: string;
  /** A CSS colour. */
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** stroke-dasharray, e.g. "6 3". */
  dash?: string;
  width?: number;
}

export interface ChartMarker {
  x: number;
  label: string;
  color?: string;
}

export interface LineChartSpec {
  title: string;
  /** One or more lines under the title. */
  subtitle?: string | string[];
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  markers?: ChartMarker[];
  /** Lines of small print under the marker list. */
  notes?: string[];
  width?: number;
  /** Height of the plot area's box (the marker list and notes add to it). */
  height?: number;
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
  /** Formats y tick labels; default a compact number (12k, 1.5M). */
  yFormat?: (v: number) => string;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick positions covering [min, max]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(min: number, max: number, target = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max < min) [min, max] = [max, min];
  if (max === min) max = min + 1;
  const raw = (max - min) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.ceil(min / step - 1e-9) * step;
  const ticks: number[] = [];
  // Bounded: (max - min) / step is about `target`.
  for (let i = 0; i <= target * 3 + 2; i++) {
    const v = first + i * step;
    if (v > max + step * 1e-9) break;
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

/** The smallest nice number at or above `v` (1, 2, 2.5, 5 times a power of ten). */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}

export function compactNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${trimZeros((v / 1e6).toFixed(1))}M`;
  if (a >= 1e3) return `${trimZeros((v / 1e3).toFixed(1))}k`;
  return trimZeros(v.toFixed(a < 10 && a !== 0 ? 1 : 0));
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** The chart as a standalone SVG document. */
export function lineChartSvg(spec: LineChartSpec): string {
  const width = spec.width ?? 960;
  const plotBoxH = spec.height ?? 420;
  const markers = spec.markers ?? [];
  const notes = spec.notes ?? [];
  const yFormat = spec.yFormat ?? compactNumber;

  const allX = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const allY = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const xMin = spec.xMin ?? (allX.length > 0 ? Math.min(...allX) : 0);
  const xMax = spec.xMax ?? (allX.length > 0 ? Math.max(...allX) : 1);
  const yMin = spec.yMin ?? 0;
  const yMax = spec.yMax ?? niceCeil(allY.length > 0 ? Math.max(...allY) * 1.08 : 1);

  const subtitle = spec.subtitle === undefined ? [] : Array.isArray(spec.subtitle) ? spec.subtitle : [spec.subtitle];
  const left = 78;
  const right = 24;
  // Title, subtitle lines, then a row for the series legend above the plot.
  const legendRowY = 44 + subtitle.length * 16;
  const top = legendRowY + 14;
  const plotW = width - left - right;
  const plotH = plotBoxH;
  const legendTop = top + plotH + 48;
  const markerLineH = 17;
  const markerCols = markers.length > 6 ? 2 : 1;
  const markerRows = Math.ceil(markers.length / markerCols);
  const notesTop = legendTop + 22 + markerRows * markerLineH + (markers.length > 0 ? 6 : 0);
  const height = notesTop + notes.length * 15 + 12;

  const sx = (x: number): number => left + ((x - xMin) / (xMax - xMin || 1)) * plotW;
  const sy = (y: number): number => top + plotH - ((Math.min(y, yMax) - yMin) / (yMax - yMin || 1)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${fmt(height)}" viewBox="0 0 ${width} ${fmt(height)}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${fmt(height)}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(spec.title)}</text>`);
  subtitle.forEach((line, i) => {
    out.push(`<text x="${left}" y="${44 + i * 16}" fill="#555555">${escapeXml(line)}</text>`);
  });

  // Grid and y axis.
  for (const t of niceTicks(yMin, yMax, 6)) {
    const y = sy(t);
    out.push(
      `<line x1="${left}" y1="${fmt(y)}" x2="${left + plotW}" y2="${fmt(y)}" stroke="#e3e3e3" stroke-width="1"/>`,
    );
    out.push(
      `<text x="${left - 8}" y="${fmt(y + 4)}" text-anchor="end" fill="#333333">${escapeXml(yFormat(t))}</text>`,
    );
  }
  for (const t of niceTicks(xMin, xMax, 10)) {
    const x = sx(t);
    out.push(`<line x1="${fmt(x)}" y1="${top}" x2="${fmt(x)}" y2="${top + plotH}" stroke="#f0f0f0" stroke-width="1"/>`);
    out.push(
      `<text x="${fmt(x)}" y="${top + plotH + 18}" text-anchor="middle" fill="#333333">${escapeXml(compactNumber(t))}</text>`,
    );
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888888" stroke-width="1"/>`,
  );
  out.push(
    `<text x="${left + plotW / 2}" y="${top + plotH + 38}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
  );
  out.push(
    `<text x="18" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${top + plotH / 2})">${escapeXml(spec.yLabel)}</text>`,
  );

  // Event markers behind the data.
  markers.forEach((m, i) => {
    const x = sx(m.x);
    const color = m.color ?? '#c0392b';
    out.push(
      `<line x1="${fmt(x)}" y1="${top}" x2="${fmt(x)}" y2="${top + plotH}" stroke="${color}" stroke-width="1" stroke-dasharray="4 3"/>`,
    );
    // Numbers of events close together alternate height so they stay readable.
    const ly = top + 13 + (i % 2) * 14;
    out.push(`<text x="${fmt(x + 3)}" y="${ly}" fill="${color}" font-weight="bold" font-size="11">${i + 1}</text>`);
  });

  // Series, clipped to the plot.
  out.push(
    `<defs><clipPath id="plot"><rect x="${left}" y="${top}" width="${plotW}" height="${plotH}"/></clipPath></defs>`,
  );
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    const d = s.points
      .map(
        (p, i) => `${i === 0 ? 'M' : 'L'}${fmt(Math.round(sx(p[0]) * 10) / 10)},${fmt(Math.round(sy(p[1]) * 10) / 10)}`,
      )
      .join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.6}" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} clip-path="url(#plot)"/>`,
    );
  }

  // Series legend, right-aligned above the plot, clear of the data and the markers.
  let lx = left + plotW;
  for (const s of [...spec.series].reverse()) {
    const textW = s.name.length * 6.6;
    lx -= textW + 40;
    const ly = legendRowY;
    out.push(
      `<line x1="${fmt(lx)}" y1="${ly - 4}" x2="${fmt(lx + 24)}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
    out.push(`<text x="${fmt(lx + 29)}" y="${ly}">${escapeXml(s.name)}</text>`);
  }

  // What each numbered marker was.
  if (markers.length > 0) {
    out.push(`<text x="${left}" y="${legendTop}" font-weight="bold">Events</text>`);
    const colW = plotW / markerCols;
    markers.forEach((m, i) => {
      const col = Math.floor(i / markerRows);
      const row = i % markerRows;
      const x = left + col * colW;
      const y = legendTop + 18 + row * markerLineH;
      out.push(
        `<text x="${fmt(x)}" y="${fmt(y)}"><tspan fill="${m.color ?? '#c0392b'}" font-weight="bold">${i + 1}</tspan>  ${escapeXml(m.label)}</text>`,
      );
    });
  }
  notes.forEach((n, i) => {
    out.push(`<text x="${left}" y="${notesTop + i * 15}" fill="#555555" font-size="11">${escapeXml(n)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
