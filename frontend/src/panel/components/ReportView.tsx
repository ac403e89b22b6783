import React, { useMemo, useState } from 'react';
import { css } from '@emotion/css';
import { DataFrame, GrafanaTheme2, LoadingState } from '@grafana/data';
import { Alert, Button, LoadingPlaceholder, useStyles2 } from '@grafana/ui';

import { Insight, SEVERITIES, Severity, exploreLink, formatEvidence, readReport } from '../report/model';

/** Cards rendered at once; more on request, so hundreds of insights stay usable. */
const PAGE = 25;

const LABELS: Record<Severity, string> = {
  critical: 'Critical Issues',
  high: 'High Priority',
  medium: 'Medium Priority',
  low: 'Low Priority',
  info: 'Informational',
};

const getStyles = (theme: GrafanaTheme2) => {
  const colour: Record<Severity, string> = {
    critical: theme.colors.error.main,
    high: theme.visualization.getColorByName('orange'),
    medium: theme.colors.warning.main,
    low: theme.colors.info.main,
    info: theme.colors.text.secondary,
  };
  return {
    root: css({ overflow: 'auto', padding: theme.spacing(1), fontSize: theme.typography.body.fontSize }),
    summary: css({ display: 'flex', flexWrap: 'wrap', gap: theme.spacing(1), marginBottom: theme.spacing(1) }),
    count: (s: Severity) =>
      css({
        borderLeft: `4px solid ${colour[s]}`,
        padding: theme.spacing(0.5, 1),
        background: theme.colors.background.secondary,
        minWidth: 110,
      }),
    controls: css({
      display: 'flex',
      flexWrap: 'wrap',
      alignItems: 'center',
      gap: theme.spacing(1),
      marginBottom: theme.spacing(1),
      'select, input': {
        background: theme.components.input.background,
        color: theme.colors.text.primary,
        border: `1px solid ${theme.components.input.borderColor}`,
        borderRadius: theme.shape.radius.default,
        height: theme.spacing(4),
        padding: theme.spacing(0, 1),
      },
    }),
    group: css({ marginTop: theme.spacing(1), fontWeight: theme.typography.fontWeightMedium }),
    card: (s: Severity) =>
      css({
        borderLeft: `4px solid ${colour[s]}`,
        background: theme.colors.background.secondary,
        padding: theme.spacing(1),
        marginBottom: theme.spacing(1),
        overflowWrap: 'anywhere',
        'ol, ul': { paddingLeft: theme.spacing(3), margin: 0 },
      }),
    title: css({ fontWeight: theme.typography.fontWeightMedium, cursor: 'pointer' }),
    meta: css({ color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }),
    section: css({ marginTop: theme.spacing(1) }),
    heading: css({ fontWeight: theme.typography.fontWeightMedium, textTransform: 'uppercase', fontSize: 11 }),
    code: css({ fontFamily: theme.typography.fontFamilyMonospace, fontSize: theme.typography.bodySmall.fontSize }),
    table: css({ borderCollapse: 'collapse', td: { padding: theme.spacing(0, 1, 0, 0) } }),
  };
};

type Styles = ReturnType<typeof getStyles>;

function Card({
  insight,
  styles,
  expanded,
  onToggle,
  datasource,
}: {
  insight: Insight;
  styles: Styles;
  expanded: boolean;
  onToggle: () => void;
  datasource?: string;
}) {
  const target = [insight.instance, insight.device].filter(Boolean).join(' ');
  return (
    <div className={styles.card(insight.severity)} data-testid="gregg-card">
      <div className={styles.title} onClick={onToggle} role="button" aria-expanded={expanded}>
        {expanded ? '▾' : '▸'} {insight.title}
      </div>
      <div className={styles.meta}>
        {insight.severity} · {insight.component}
        {target ? ` · ${target}` : ''} · {insight.methodology} · confidence {Math.round(insight.confidence)}%
      </div>
      {expanded && (
        <>
          <Section title="Observation" styles={styles}>
            {insight.observation}
          </Section>
          {insight.evidence.length > 0 && (
            <Section title="Evidence" styles={styles}>
              <table className={styles.table}>
                <tbody>
                  {insight.evidence.map(([name, value]) => (
                    <tr key={name}>
                      <td className={styles.code}>{name}</td>
                      <td>{formatEvidence(name, value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
          )}
          <Section title="Root cause" styles={styles}>
            {insight.rootCause}
          </Section>
          <Section title="Immediate action" styles={styles}>
            {insight.immediateAction}
          </Section>
          {insight.investigationSteps.length > 0 && (
            <Section title="Investigation steps" styles={styles}>
              <ol>
                {insight.investigationSteps.map((s, k) => (
                  <li key={k} className={styles.code}>
                    {s}
                  </li>
                ))}
              </ol>
            </Section>
          )}
          <Section title="Long-term fix" styles={styles}>
            {insight.longTermFix}
          </Section>
          {insight.relatedMetrics.length > 0 && (
            <Section title="Related metrics" styles={styles}>
              <ul>
                {insight.relatedMetrics.map((q, k) => (
                  <li key={k}>
                    <a className={styles.code} href={exploreLink(q, datasource)} target="_blank" rel="noreferrer">
                      {q}
                    </a>
                  </li>
                ))}
              </ul>
            </Section>
          )}
          {insight.bookReference && <div className={styles.meta}>Reference: {insight.bookReference}</div>}
        </>
      )}
    </div>
  );
}

function Section({ title, styles, children }: { title: string; styles: Styles; children: React.ReactNode }) {
  if (children === '' || children === undefined) {
    return null;
  }
  return (
    <div className={styles.section}>
      <div className={styles.heading}>{title}</div>
      <div>{children}</div>
    </div>
  );
}

/** What the report view renders: the frames of a `report` query and the state of the request. */
export interface ReportViewProps {
  series: DataFrame[];
  state?: LoadingState;
  error?: string;
  width?: number;
  height?: number;
  exploreDatasource?: string;
}

/** The report itself, shared by the panel and the app's Insights page. */
export function ReportView({ series, state, error, width, height, exploreDatasource }: ReportViewProps) {
  const styles = useStyles2(getStyles);
  const report = useMemo(() => readReport(series), [series]);
  const [minSeverity, setMinSeverity] = useState<Severity>('info');
  const [component, setComponent] = useState('');
  const [instance, setInstance] = useState('');
  const [shown, setShown] = useState(PAGE);
  const [expanded, setExpanded] = useState<Record<string, boolean>>({});
  const [allExpanded, setAllExpanded] = useState(false);

  if (state === LoadingState.Loading && series.length === 0) {
    return <LoadingPlaceholder text="Analysing…" />;
  }
  const components = Array.from(new Set(report.insights.map((i) => i.component))).sort();
  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  const visible = report.insights.filter(
    (i) =>
      rank(i.severity) <= rank(minSeverity) &&
      (component === '' || i.component === component) &&
      (instance === '' || (i.instance ?? '').includes(instance))
  );
  const page = visible.slice(0, shown);
  const isOpen = (i: Insight) => expanded[i.id] ?? (allExpanded || rank(i.severity) <= rank('high'));

  return (
    <div className={styles.root} style={{ width, height }} data-testid="gregg-report">
      {error && (
        <Alert title="The analysis failed" severity="error">
          {error}
        </Alert>
      )}
      {report.problems.length > 0 && (
        <Alert title="Some of the data could not be read" severity="warning" data-testid="gregg-problems">
          <ul>
            {report.problems.slice(0, 5).map((p, k) => (
              <li key={k}>{p}</li>
            ))}
          </ul>
        </Alert>
      )}
      <div className={styles.summary} data-testid="gregg-summary">
        {SEVERITIES.map((s) => (
          <div key={s} className={styles.count(s)}>
            <div className={styles.meta}>{LABELS[s]}</div>
            <div>{report.summary[s]}</div>
          </div>
        ))}
        <div className={styles.count('info')}>
          <div className={styles.meta}>Total Findings</div>
          <div>{report.summary.total}</div>
        </div>
      </div>
      {report.insights.length === 0 && !error ? (
        <div data-testid="gregg-report-empty">
          <p>
            No findings: every resource is within its thresholds on every target for the window. Healthy, as far as the
            metrics at hand can tell.
          </p>
          {report.coverage.length > 0 && <Coverage items={report.coverage} styles={styles} />}
        </div>
      ) : (
        <>
          <div className={styles.controls}>
            <label>
              Severity ≥{' '}
              <select
                value={minSeverity}
                onChange={(e) => setMinSeverity(e.target.value as Severity)}
                aria-label="Minimum severity"
              >
                {SEVERITIES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Component{' '}
              <select value={component} onChange={(e) => setComponent(e.target.value)} aria-label="Component">
                <option value="">all</option>
                {components.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </label>
            <input
              placeholder="instance contains…"
              value={instance}
              onChange={(e) => setInstance(e.target.value)}
              aria-label="Instance"
            />
            <Button
              size="sm"
              variant="secondary"
              onClick={() => {
                setAllExpanded(!allExpanded);
                setExpanded({});
              }}
            >
              {allExpanded ? 'Collapse all' : 'Expand all'}
            </Button>
          </div>
          {SEVERITIES.map((s) => {
            const group = page.filter((i) => i.severity === s);
            if (group.length === 0) {
              return null;
            }
            return (
              <div key={s}>
                <div className={styles.group}>{LABELS[s].toUpperCase()}</div>
                {group.map((i) => (
                  <Card
                    key={i.id}
                    insight={i}
                    styles={styles}
                    expanded={isOpen(i)}
                    onToggle={() => setExpanded({ ...expanded, [i.id]: !isOpen(i) })}
                    datasource={exploreDatasource}
                  />
                ))}
              </div>
            );
          })}
          {visible.length > shown && (
            <Button size="sm" variant="secondary" onClick={() => setShown(shown + PAGE)}>
              Show more ({visible.length - shown} left)
            </Button>
          )}
          {report.coverage.length > 0 && <Coverage items={report.coverage} styles={styles} />}
        </>
      )}
    </div>
  );
}

function Coverage({ items, styles }: { items: Insight[]; styles: Styles }) {
  return (
    <div className={styles.section} data-testid="gregg-coverage">
      <div className={styles.heading}>Coverage gaps (not assessed, so not known to be healthy)</div>
      <ul>
        {items.map((i) => (
          <li key={i.id}>{i.title}</li>
        ))}
      </ul>
    </div>
  );
}
