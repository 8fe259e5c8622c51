/**
 * Line charts as inline SVG, drawn on the server: the report needs no script, no font and no
 * request to display. Phases are shaded behind the lines, so a person sees the outage as a band.
 */

export interface Series {
  readonly name: string;
  readonly color: string;
  /** [x in ms from the drill's start, y]; null y breaks the line. */
  readonly points: readonly (readonly [number, number | null])[];
  readonly dashed?: boolean;
}

export interface Band {
  readonly startMs: number;
  readonly endMs: number;
  readonly label: string;
  readonly color: string;
}

export interface ChartOptions {
  readonly title: string;
  readonly yLabel: string;
  readonly xMaxMs: number;
  readonly series: readonly Series[];
  readonly bands: readonly Band[];
  readonly width?: number;
  readonly height?: number;
  /** Vertical markers, e.g. the end of the timeline. */
  readonly markers?: readonly { readonly atMs: number; readonly label: string }[];
}

const PAD = { left: 56, right: 16, top: 30, bottom: 34 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A round step giving about `count` ticks up to `max`. */
export function niceStep(max: number, count: number): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return step ?? 10 * magnitude;
}

const fmt = (n: number) => (Math.abs(n) >= 100 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1));

export function lineChart(options: ChartOptions): string {
  const width = options.width ?? 900;
  const height = options.height ?? 240;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const yValues = options.series.flatMap((s) => s.points.map(([, y]) => y ?? 0));
  const yStep = niceStep(Math.max(1, ...yValues), 4);
  const yMax = Math.max(yStep, Math.ceil(Math.max(1, ...yValues) / yStep) * yStep);
  const xMax = Math.max(1, options.xMaxMs);
  const x = (ms: number) => PAD.left + (Math.min(ms, xMax) / xMax) * plotW;
  const y = (v: number) => PAD.top + plotH - (v / yMax) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(options.title)}">`,
  );
  parts.push(`<text x="${PAD.left}" y="18" class="chart-title">${escapeXml(options.title)}</text>`);
  for (const band of options.bands) {
    const bx = x(band.startMs);
    const bw = Math.max(0, x(band.endMs) - bx);
    parts.push(
      `<rect x="${bx.toFixed(1)}" y="${PAD.top}" width="${bw.toFixed(1)}" height="${plotH}" fill="${band.color}"/>`,
      `<text x="${(bx + 4).toFixed(1)}" y="${PAD.top + 12}" class="band-label">${escapeXml(band.label)}</text>`,
    );
  }
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    parts.push(
      `<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`,
      `<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" class="tick" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  const xStep = niceStep(xMax / 1000, 8) * 1000;
  for (let t = 0; t <= xMax + 1; t += xStep) {
    parts.push(
      `<text x="${x(t).toFixed(1)}" y="${height - PAD.bottom + 16}" class="tick" text-anchor="middle">${fmt(t / 1000)}s</text>`,
    );
  }
  parts.push(
    `<text x="14" y="${PAD.top + plotH / 2}" class="axis-label" transform="rotate(-90 14 ${PAD.top + plotH / 2})" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  for (const marker of options.markers ?? []) {
    parts.push(
      `<line x1="${x(marker.atMs).toFixed(1)}" x2="${x(marker.atMs).toFixed(1)}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="marker"/>`,
      `<text x="${(x(marker.atMs) - 4).toFixed(1)}" y="${PAD.top + plotH - 6}" class="band-label" text-anchor="end">${escapeXml(marker.label)}</text>`,
    );
  }
  for (const series of options.series) {
    for (const segment of segments(series.points)) {
      const [only] = segment;
      if (segment.length === 1 && only !== undefined) {
        // A lone value between gaps has no line to draw: a dot keeps it visible.
        parts.push(
          `<circle cx="${x(only[0]).toFixed(1)}" cy="${y(only[1]).toFixed(1)}" r="3" fill="${series.color}"/>`,
        );
        continue;
      }
      const d = segment
        .map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`)
        .join(' ');
      parts.push(
        `<path d="${d}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed === true ? ' stroke-dasharray="5 4"' : ''}/>`,
      );
    }
  }
  parts.push(
    `<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" class="axis"/>`,
  );
  let legendX = width - PAD.right;
  for (const series of [...options.series].reverse()) {
    const label = escapeXml(series.name);
    legendX -= label.length * 7 + 28;
    parts.push(
      `<rect x="${legendX}" y="9" width="14" height="4" fill="${series.color}"/>`,
      `<text x="${legendX + 18}" y="15" class="legend">${label}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

function segments(points: Series['points']): (readonly [number, number])[][] {
  const out: (readonly [number, number])[][] = [];
  let current: (readonly [number, number])[] = [];
  for (const [px, py] of points) {
    if (py === null) {
      if (current.length > 0) out.push(current);
      current = [];
    } else current.push([px, py]);
  }
  if (current.length > 0) out.push(current);
  return out;
}
