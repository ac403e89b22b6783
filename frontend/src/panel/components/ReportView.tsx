import React, { useId, useMemo, useState } from 'react';
import { css } from '@emotion/css';
import { DataFrame, GrafanaTheme2, LoadingState } from '@grafana/data';
import {
  Alert,
  Badge,
  Button,
  ClipboardButton,
  Collapse,
  Combobox,
  IconButton,
  Input,
  LinkButton,
  LoadingPlaceholder,
  Tooltip,
  useStyles2,
  useTheme2,
} from '@grafana/ui';
import { config } from '@grafana/runtime';

import {
  Insight,
  SEVERITIES,
  Severity,
  dedupeSteps,
  evidenceLabel,
  formatEvidence,
  parseWindow,
  readReport,
  readSeries,
  InsightSeries,
} from '../report/model';
import { Sparkline } from './Sparkline';
import { ExploreRange, exploreLink } from '../../shared/explore';
import { TONE_INFO, toneColours } from '../../shared/severity';
import { matchesVariable } from '../../shared/variables';

/** Cards rendered at once; more on request, so a thousand insights stay smooth. */
const PAGE = 50;
/** Critical findings at the top that start open. */
const OPEN_BY_DEFAULT = 3;

const LABELS: Record<Severity, string> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  info: 'Info',
};

const getStyles = (theme: GrafanaTheme2) => ({
  root: css({ overflow: 'auto', padding: theme.spacing(0.5), fontSize: theme.typography.body.fontSize }),
  bar: css({
    display: 'flex',
    height: theme.spacing(1.5),
    borderRadius: theme.shape.radius.default,
    overflow: 'hidden',
    background: theme.colors.background.secondary,
  }),
  counts: css({
    display: 'flex',
    flexWrap: 'wrap',
    gap: theme.spacing(0.5, 1.5),
    listStyle: 'none',
    padding: 0,
    margin: theme.spacing(0.5, 0, 1),
    color: theme.colors.text.secondary,
    strong: { color: theme.colors.text.primary },
  }),
  swatch: css({ display: 'inline-block', width: 10, height: 10, marginRight: 4, verticalAlign: 'middle' }),
  controls: css({
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'center',
    gap: theme.spacing(1),
    marginBottom: theme.spacing(1),
  }),
  group: css({
    margin: theme.spacing(1, 0, 0.5),
    fontSize: theme.typography.h6.fontSize,
    fontWeight: theme.typography.fontWeightMedium,
  }),
  label: css({
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'center',
    gap: theme.spacing(1),
    minWidth: 0,
    overflowWrap: 'anywhere',
  }),
  meta: css({
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
    fontWeight: 'normal',
  }),
  section: css({ marginTop: theme.spacing(1), overflowWrap: 'anywhere' }),
  heading: css({
    fontWeight: theme.typography.fontWeightMedium,
    fontSize: theme.typography.bodySmall.fontSize,
    color: theme.colors.text.secondary,
    margin: 0,
  }),
  evidence: css({
    display: 'grid',
    gridTemplateColumns: 'minmax(0, max-content) max-content',
    gap: theme.spacing(0, 2),
    margin: 0,
    dd: { margin: 0, fontVariantNumeric: 'tabular-nums', textAlign: 'right' },
    dt: { color: theme.colors.text.secondary },
  }),
  steps: css({ paddingLeft: theme.spacing(2.5), margin: 0, li: { marginBottom: theme.spacing(0.5) } }),
  code: css({
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(0.5),
    background: theme.colors.background.canvas,
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    padding: theme.spacing(0.25, 0.5),
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    code: { flex: 1, whiteSpace: 'pre-wrap', wordBreak: 'break-all', background: 'none', border: 'none', padding: 0 },
  }),
  metrics: css({ listStyle: 'none', padding: 0, margin: 0, li: { marginBottom: theme.spacing(0.5) } }),
  // Off-screen cards are neither laid out nor painted: a thousand of them scroll smoothly.
  card: css({ contentVisibility: 'auto', containIntrinsicSize: 'auto 48px' }),
  held: css({ display: 'flex', alignItems: 'center', gap: theme.spacing(1), color: theme.colors.text.secondary }),
});

type Styles = ReturnType<typeof getStyles>;

/** The summary as one bar: a segment per severity, as wide as its share of the findings. */
function SeverityBar({ summary, styles }: { summary: ReturnType<typeof readReport>['summary']; styles: Styles }) {
  const theme = useTheme2();
  const colours = toneColours(theme);
  const description = SEVERITIES.map((s) => `${summary[s]} ${s}`).join(', ');
  return (
    <div data-testid="gregg-summary">
      <div
        className={styles.bar}
        role="img"
        aria-label={`Findings by severity: ${description}; ${summary.total} in all`}
      >
        {SEVERITIES.filter((s) => summary[s] > 0).map((s) => (
          <Tooltip key={s} content={`${summary[s]} ${LABELS[s].toLowerCase()}`}>
            <div style={{ flex: summary[s], background: colours[s].fill }} data-severity={s} />
          </Tooltip>
        ))}
      </div>
      <ul className={styles.counts}>
        {SEVERITIES.map((s) => (
          <li key={s}>
            <span className={styles.swatch} style={{ background: colours[s].fill }} aria-hidden />
            {LABELS[s]} <strong>{summary[s]}</strong>
          </li>
        ))}
        <li>
          Total <strong>{summary.total}</strong>
        </li>
      </ul>
    </div>
  );
}

/** Where in the analysed window the condition held: the window as a track, the held span shaded. */
function HeldSpan({ insight, windowMs, styles }: { insight: Insight; windowMs?: number; styles: Styles }) {
  const theme = useTheme2();
  const { timestamp: end, startedAt, endedAt } = insight;
  if (!windowMs || end === undefined || startedAt === undefined || endedAt === undefined) {
    return null;
  }
  const start = end - windowMs;
  const x = (t: number) => Math.max(0, Math.min(100, ((t - start) / windowMs) * 100));
  const minutes = (ms: number) => `${Math.round(ms / 6e4)} min`;
  const label = `Held ${minutes(endedAt - startedAt)} of the ${minutes(windowMs)} window, until ${minutes(end - endedAt)} before its end`;
  return (
    <div className={styles.held}>
      <svg width="120" height="10" role="img" aria-label={label} data-testid="gregg-held">
        <rect x="0" y="3" width="120" height="4" fill={theme.colors.background.secondary} />
        <rect
          x={(x(startedAt) * 120) / 100}
          y="0"
          width={Math.max(2, ((x(endedAt) - x(startedAt)) * 120) / 100)}
          height="10"
          fill={toneColours(theme)[insight.severity].fill}
        />
      </svg>
      <span className={styles.meta}>{label}</span>
    </div>
  );
}

function Section({ title, styles, children }: { title: string; styles: Styles; children: React.ReactNode }) {
  if (children === '' || children === undefined || children === null) {
    return null;
  }
  return (
    <section className={styles.section}>
      <h4 className={styles.heading}>{title}</h4>
      <div>{children}</div>
    </section>
  );
}

function Code({
  text,
  what,
  styles,
  children,
}: {
  text: string;
  what: string;
  styles: Styles;
  children?: React.ReactNode;
}) {
  return (
    <div className={styles.code}>
      <code>{text}</code>
      {children}
      <ClipboardButton
        icon="copy"
        variant="secondary"
        fill="text"
        size="sm"
        getText={() => text}
        aria-label={`Copy ${what}`}
        tooltip={`Copy ${what}`}
      />
    </div>
  );
}

function Body({
  insight,
  styles,
  windowMs,
  explore,
  series,
}: {
  insight: Insight;
  styles: Styles;
  windowMs?: number;
  explore: (expr: string) => string;
  series?: InsightSeries;
}) {
  const evidence = insight.evidence.filter(([, v]) => v !== null && Number.isFinite(v));
  const steps = dedupeSteps(insight.investigationSteps);
  return (
    <>
      <HeldSpan insight={insight} windowMs={windowMs} styles={styles} />
      <Sparkline insight={insight} series={series} />
      <Section title="Observation" styles={styles}>
        {insight.observation}
      </Section>
      {evidence.length > 0 && (
        <Section title="Evidence" styles={styles}>
          <dl className={styles.evidence}>
            {evidence.map(([name, value]) => (
              <React.Fragment key={name}>
                <dt title={name}>{evidenceLabel(name)}</dt>
                <dd>{formatEvidence(name, value)}</dd>
              </React.Fragment>
            ))}
          </dl>
        </Section>
      )}
      <Section title="Root cause" styles={styles}>
        {insight.rootCause}
      </Section>
      <Section title="Immediate action" styles={styles}>
        {insight.immediateAction}
      </Section>
      {steps.length > 0 && (
        <Section title="Investigation steps" styles={styles}>
          <ol className={styles.steps}>
            {steps.map((s, k) => (
              <li key={k}>
                {s.command && <Code text={s.command} what="command" styles={styles} />}
                {s.note && <span>{s.note}</span>}
              </li>
            ))}
          </ol>
        </Section>
      )}
      <Section title="Long-term fix" styles={styles}>
        {insight.longTermFix}
      </Section>
      {insight.relatedMetrics.length > 0 && (
        <Section title="PromQL" styles={styles}>
          <ul className={styles.metrics}>
            {insight.relatedMetrics.map((q, k) => (
              <li key={k}>
                <Code text={q} what="PromQL" styles={styles}>
                  <LinkButton
                    href={explore(q)}
                    target="_blank"
                    size="sm"
                    variant="secondary"
                    fill="text"
                    icon="compass"
                    aria-label={`Open in Explore: ${q}`}
                  >
                    Open in Explore
                  </LinkButton>
                </Code>
              </li>
            ))}
          </ul>
        </Section>
      )}
      {insight.bookReference && <div className={styles.meta}>Reference: {insight.bookReference}</div>}
    </>
  );
}

function Card({
  insight,
  styles,
  expanded,
  onToggle,
  windowMs,
  explore,
  series,
}: {
  insight: Insight;
  styles: Styles;
  expanded: boolean;
  onToggle: () => void;
  windowMs?: number;
  explore: (expr: string) => string;
  series?: InsightSeries;
}) {
  const target = [insight.instance, insight.device].filter(Boolean).join(' ');
  const info = TONE_INFO[insight.severity];
  return (
    <article data-testid="gregg-card" aria-label={`${insight.severity}: ${insight.title}`} className={styles.card}>
      <Collapse
        isOpen={expanded}
        onToggle={onToggle}
        label={
          <span className={styles.label}>
            <Badge text={info.label} color={info.badge} icon={info.icon} />
            <span>{insight.title}</span>
            <span className={styles.meta}>
              {insight.component}
              {target ? ` · ${target}` : ''} · {insight.methodology} · confidence {Math.round(insight.confidence)}%
            </span>
          </span>
        }
      >
        {expanded && <Body insight={insight} styles={styles} windowMs={windowMs} explore={explore} series={series} />}
      </Collapse>
    </article>
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
  /** The range the Explore links open on: the panel's (or the query's) time range. */
  exploreRange?: ExploreRange;
  /** The dashboard's instance variable as a regex: only its instances are shown. */
  instanceFilter?: string;
  variableName?: string;
  onClearFilter?: () => void;
}

/** The report itself, shared by the panel and the app's Insights page. */
export function ReportView(props: ReportViewProps) {
  const { series, state, error, width, height, exploreDatasource, exploreRange } = props;
  const { instanceFilter, variableName, onClearFilter } = props;
  const styles = useStyles2(getStyles);
  const explore = (expr: string) => exploreLink(expr, exploreDatasource, exploreRange, config.appSubUrl ?? '');
  const report = useMemo(() => readReport(series), [series]);
  const sparklines = useMemo(() => readSeries(series), [series]);
  const [minSeverity, setMinSeverity] = useState<Severity>('info');
  const [component, setComponent] = useState('');
  const [instance, setInstance] = useState('');
  const [shown, setShown] = useState(PAGE);
  const [expanded, setExpanded] = useState<Record<string, boolean>>({});
  const [allExpanded, setAllExpanded] = useState(false);
  const ids = useId();
  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  const components = useMemo(() => Array.from(new Set(report.insights.map((i) => i.component))).sort(), [report]);
  const visible = useMemo(
    () =>
      report.insights.filter(
        (i) =>
          rank(i.severity) <= rank(minSeverity) &&
          (component === '' || i.component === component) &&
          (instance === '' || (i.instance ?? '').includes(instance)) &&
          (instanceFilter === undefined || matchesVariable(i.instance, instanceFilter))
      ),
    [report, minSeverity, component, instance, instanceFilter]
  );

  if (state === LoadingState.Loading && series.length === 0) {
    return <LoadingPlaceholder text="Analysing…" />;
  }
  const windowMs = parseWindow(report.window);
  const page = visible.slice(0, shown);
  // The first few critical findings open by default; the rest stay one line each until asked for.
  const openFirst = new Set(
    visible
      .slice(0, OPEN_BY_DEFAULT)
      .filter((i) => i.severity === 'critical')
      .map((i) => i.id)
  );
  const isOpen = (i: Insight) => expanded[i.id] ?? (allExpanded || openFirst.has(i.id));
  const many = width !== undefined && width < 500;

  return (
    <div
      className={styles.root}
      style={{ width, height }}
      data-testid="gregg-report"
      role="region"
      aria-label="Gregg Insights report"
    >
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
      <SeverityBar summary={report.summary} styles={styles} />
      {instanceFilter !== undefined && (
        <div className={styles.controls} data-testid="gregg-variable-filter">
          <Badge color="blue" icon="filter" text={`instance =~ ${instanceFilter}`} />
          <span className={styles.meta}>from the dashboard variable ${variableName}</span>
          {onClearFilter && (
            <IconButton name="times" aria-label={`Clear $${variableName}`} onClick={onClearFilter} size="sm" />
          )}
        </div>
      )}
      {report.insights.length === 0 && !error ? (
        <div data-testid="gregg-report-empty">
          <p>
            No findings: every resource is within its thresholds on every target for the window. Healthy, as far as the
            metrics at hand can tell.
          </p>
        </div>
      ) : (
        report.insights.length > 0 && (
          <>
            <div className={styles.controls}>
              <span id={`${ids}-sev`} className={styles.meta}>
                Minimum severity
              </span>
              <div style={{ width: many ? 120 : 150 }}>
                <Combobox
                  aria-labelledby={`${ids}-sev`}
                  options={SEVERITIES.map((s) => ({ label: `≥ ${LABELS[s]}`, value: s }))}
                  value={minSeverity}
                  onChange={(o) => {
                    setMinSeverity(o.value);
                    setShown(PAGE);
                  }}
                />
              </div>
              <span id={`${ids}-comp`} className={styles.meta}>
                Component
              </span>
              <div style={{ width: many ? 120 : 160 }}>
                <Combobox
                  aria-labelledby={`${ids}-comp`}
                  options={[{ label: 'All resources', value: '' }, ...components.map((c) => ({ label: c, value: c }))]}
                  value={component}
                  onChange={(o) => {
                    setComponent(o.value);
                    setShown(PAGE);
                  }}
                />
              </div>
              <div style={{ width: many ? 140 : 200 }}>
                <Input
                  placeholder="Instance contains…"
                  aria-label="Instance"
                  value={instance}
                  onChange={(e) => setInstance(e.currentTarget.value)}
                />
              </div>
              <Button
                size="sm"
                variant="secondary"
                icon={allExpanded ? 'angle-up' : 'angle-down'}
                onClick={() => {
                  setAllExpanded(!allExpanded);
                  setExpanded({});
                }}
              >
                {allExpanded ? 'Collapse all' : 'Expand all'}
              </Button>
              <span className={styles.meta} aria-live="polite" data-testid="gregg-shown">
                {Math.min(shown, visible.length)} of {visible.length} shown
              </span>
            </div>
            {SEVERITIES.map((s) => {
              const group = page.filter((i) => i.severity === s);
              if (group.length === 0) {
                return null;
              }
              return (
                <section key={s} aria-label={`${LABELS[s]} findings`}>
                  <h3 className={styles.group}>
                    {LABELS[s]} ({visible.filter((i) => i.severity === s).length})
                  </h3>
                  {group.map((i) => (
                    <Card
                      key={i.id}
                      insight={i}
                      styles={styles}
                      expanded={isOpen(i)}
                      onToggle={() => setExpanded({ ...expanded, [i.id]: !isOpen(i) })}
                      windowMs={windowMs}
                      explore={explore}
                      series={sparklines.get(i.id)}
                    />
                  ))}
                </section>
              );
            })}
            {visible.length > shown && (
              <div className={styles.controls}>
                <Button size="sm" variant="secondary" onClick={() => setShown(shown + PAGE)}>
                  Show more ({visible.length - shown} left)
                </Button>
                <Button size="sm" variant="secondary" fill="text" onClick={() => setShown(visible.length)}>
                  Show all
                </Button>
              </div>
            )}
          </>
        )
      )}
      {report.coverage.length > 0 && (
        <Alert
          title="Partial coverage: not assessed, so not known to be healthy"
          severity="info"
          data-testid="gregg-coverage"
        >
          <ul>
            {report.coverage.map((i) => (
              <li key={i.id}>{i.title}</li>
            ))}
          </ul>
        </Alert>
      )}
    </div>
  );
}
