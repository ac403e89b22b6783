import React from 'react';
import { DataFrame, PanelProps } from '@grafana/data';

/** Rows of every frame as label → display value, for the minimal report. */
function rowsOf(frame: DataFrame): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (let i = 0; i < frame.length; i++) {
    const row: Record<string, string> = {};
    for (const field of frame.fields) {
      const value = field.values[i];
      row[field.name] = typeof value === 'number' ? value.toFixed(1) : String(value ?? '');
    }
    rows.push(row);
  }
  return rows;
}

/**
 * The report panel. This first version lists what the data source returned; the full report (summary, cards,
 * evidence, actions) arrives with the frontend issue.
 */
export function ReportPanel({ data, width, height }: PanelProps) {
  const frames = data.series.filter((f) => f.length > 0);
  if (frames.length === 0) {
    return <div data-testid="gregg-report-empty">No findings in this range.</div>;
  }
  return (
    <div data-testid="gregg-report" style={{ width, height, overflow: 'auto' }}>
      {frames.map((frame, k) => (
        <table key={k}>
          <thead>
            <tr>
              {frame.fields.map((f) => (
                <th key={f.name}>{f.config.displayName ?? f.name}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rowsOf(frame).map((row, i) => (
              <tr key={i}>
                {frame.fields.map((f) => (
                  <td key={f.name}>{row[f.name]}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </div>
  );
}
