/** Writes a drill's report next to each other: the figures as JSON, the picture as HTML. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DrillReport } from './drill-report';
import { renderDrillHtml } from './report-html';

/** `drill-2026-12-03T09-40-12Z`: sortable, and valid as a file name everywhere. */
export function reportBaseName(at: Date): string {
  return `drill-${at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-')}`;
}

export function writeDrillReport(report: DrillReport, outDir: string): { json: string; html: string } {
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, reportBaseName(new Date(report.drill.startedAt)));
  const json = `${base}.json`;
  const html = `${base}.html`;
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(html, renderDrillHtml(report));
  return { json, html };
}
