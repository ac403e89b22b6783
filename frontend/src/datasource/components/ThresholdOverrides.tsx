import React, { useEffect, useState } from 'react';
import { getBackendSrv } from '@grafana/runtime';
import { Alert, Input } from '@grafana/ui';

import { ThresholdOverrides as Overrides } from '../types';

/** What the plugin's `checks` resource says about one check. */
interface CheckInfo {
  id: string;
  label: string;
  component: string;
  direction: string;
  unit: string;
  defaults: { warning: number; critical: number };
}

interface Props {
  /** The data source's uid; the check list comes from its `checks` resource once it is saved. */
  uid?: string;
  value: Overrides;
  onChange: (next: Overrides) => void;
}

/**
 * Threshold overrides per resource: every check with its defaults (from the plugin's catalog),
 * and an input per level. An empty input means "the default".
 */
export function ThresholdOverrides({ uid, value, onChange }: Props) {
  const [checks, setChecks] = useState<CheckInfo[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (!uid) {
      return;
    }
    // Outside Grafana (tests, the browser harness) there may be no backend service at all.
    Promise.resolve()
      .then(() => getBackendSrv().get<{ checks: CheckInfo[] }>(`/api/datasources/uid/${uid}/resources/checks`))
      .then((r) => {
        if (!r || !Array.isArray(r.checks)) {
          throw new Error('the checks resource gave no list');
        }
        setChecks(r.checks);
      })
      .catch((e: { data?: { error?: string }; message?: string }) =>
        setError(e?.data?.error ?? e?.message ?? 'the checks could not be listed')
      );
  }, [uid]);

  const set = (id: string, level: 'warning' | 'critical', raw: string) => {
    const next: Overrides = { ...value };
    const entry = { ...(next[id] ?? {}) };
    const n = raw.trim() === '' ? undefined : Number(raw);
    if (n === undefined || Number.isNaN(n)) {
      delete entry[level];
    } else {
      entry[level] = n;
    }
    if (entry.warning === undefined && entry.critical === undefined) {
      delete next[id];
    } else {
      next[id] = entry;
    }
    onChange(next);
  };

  if (!uid || error) {
    return (
      <Alert severity="info" title="Save & test to list every check with its defaults">
        {error ? `The checks could not be listed: ${error}.` : ''} Overrides already set: {JSON.stringify(value)}
      </Alert>
    );
  }
  if (!checks) {
    return <div>Loading checks…</div>;
  }
  const components = Array.from(new Set(checks.map((c) => c.component)));
  return (
    <div data-testid="threshold-overrides">
      {components.map((component) => {
        const ids = checks.filter((c) => c.component === component).map((c) => c.id);
        const overridden = ids.filter((id) => value[id] !== undefined).length;
        return (
          <details key={component} open={overridden > 0}>
            <summary>
              {component}: {ids.length} checks{overridden > 0 ? `, ${overridden} overridden` : ''}
            </summary>
            <table>
              <thead>
                <tr>
                  <th>Check</th>
                  <th>Default warning</th>
                  <th>Default critical</th>
                  <th>Warning</th>
                  <th>Critical</th>
                </tr>
              </thead>
              <tbody>
                {checks
                  .filter((c) => c.component === component)
                  .map((c) => (
                    <tr key={c.id}>
                      <td title={c.id}>
                        {c.label} ({c.direction})
                      </td>
                      <td>{c.defaults.warning}</td>
                      <td>{c.defaults.critical}</td>
                      {(['warning', 'critical'] as const).map((level) => (
                        <td key={level}>
                          <Input
                            width={10}
                            aria-label={`${c.id} ${level}`}
                            placeholder={String(c.defaults[level])}
                            defaultValue={value[c.id]?.[level] ?? ''}
                            onBlur={(e) => set(c.id, level, e.currentTarget.value)}
                          />
                        </td>
                      ))}
                    </tr>
                  ))}
              </tbody>
            </table>
          </details>
        );
      })}
    </div>
  );
}
