import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { css, cx } from '@emotion/css';
import { DataFrame, GrafanaTheme2, LoadingState, formattedValueToString, getValueFormat } from '@grafana/data';
import {
  Alert,
  Badge,
  Button,
  IconButton,
  Input,
  LinkButton,
  LoadingPlaceholder,
  useStyles2,
  useTheme2,
} from '@grafana/ui';
import { config } from '@grafana/runtime';

import { ExploreRange, exploreLink } from '../../shared/explore';
import { matchesVariable } from '../../shared/variables';
import { TONES, TONE_INFO, Tone, toneColours } from '../../shared/severity';
import { Matrix, MatrixCell, MatrixRow, SIGNALS, SIGNAL_LETTER, cellKey, insightFor, readMatrix } from '../model';

/** Height of an instance row and of a group header, in px: fixed, so the list can be windowed. */
const ROW = 22;
/** Rows rendered beyond the visible ones, above and below. */
const OVERSCAN = 8;

/** A line of the windowed list: a group header or an instance. */
type Line = { kind: 'group'; tone: Tone; count: number } | { kind: 'row'; row: MatrixRow; index: number };

export interface MatrixViewProps {
  series: DataFrame[];
  state?: LoadingState;
  error?: string;
  width: number;
  height: number;
  exploreDatasource?: string;
  /** The range the Explore link opens on: the panel's (or the query's) time range. */
  exploreRange?: ExploreRange;
  /** The dashboard variable's value as a regex (its instances are highlighted). */
  instanceFilter?: string;
  /** Drill-down to the report: sets the dashboard variable; absent when no variable is configured. */
  onFilterInstance?: (instance: string | undefined) => void;
  variableName?: string;
}

const formatValue = (c: MatrixCell, v: number | null | undefined) => {
  if (v === null || v === undefined) {
    return 'no value';
  }
  try {
    return formattedValueToString(getValueFormat(c.unit || 'short')(v));
  } catch {
    return String(v);
  }
};

/** What a cell says, for its tooltip and its accessible name. */
export function describeCell(c: MatrixCell): string {
  const thresholds =
    c.warning !== undefined || c.critical !== undefined
      ? `; thresholds: warning ${formatValue(c, c.warning)}, critical ${formatValue(c, c.critical)}`
      : '';
  const severity = c.severity === 'ok' ? 'no finding' : `${c.severity} finding`;
  return `${c.instance} ${c.component} ${c.signal}: ${formatValue(c, c.value)} (${c.level})${thresholds}; check ${c.check}; ${severity}`;
}

const getStyles = (theme: GrafanaTheme2) => ({
  root: css({
    display: 'flex',
    flexDirection: 'column',
    overflow: 'hidden',
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  toolbar: css({
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'center',
    gap: theme.spacing(1),
    marginBottom: theme.spacing(0.5),
  }),
  legend: css({
    display: 'flex',
    flexWrap: 'wrap',
    gap: theme.spacing(0, 1),
    listStyle: 'none',
    margin: 0,
    padding: 0,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  swatch: css({
    display: 'inline-flex',
    alignItems: 'center',
    justifyContent: 'center',
    width: 14,
    height: 14,
    marginRight: 4,
    fontSize: 9,
    border: `1px solid ${theme.colors.border.medium}`,
    verticalAlign: 'middle',
  }),
  header: css({
    display: 'flex',
    borderBottom: `1px solid ${theme.colors.border.medium}`,
    color: theme.colors.text.secondary,
  }),
  scroller: css({ position: 'relative', overflowY: 'auto', overflowX: 'hidden', flex: '1 1 0', minHeight: ROW * 2 }),
  line: css({ position: 'absolute', left: 0, right: 0, height: ROW, display: 'flex', alignItems: 'center' }),
  group: css({
    fontWeight: theme.typography.fontWeightMedium,
    background: theme.colors.background.secondary,
    gap: theme.spacing(0.5),
  }),
  name: css({
    overflow: 'hidden',
    textOverflow: 'ellipsis',
    whiteSpace: 'nowrap',
    paddingRight: theme.spacing(0.5),
    flexShrink: 0,
  }),
  current: css({ fontWeight: theme.typography.fontWeightBold, textDecoration: 'underline' }),
  resource: css({ display: 'flex', flexShrink: 0, padding: '0 2px', height: ROW - 4 }),
  sub: css({
    flex: 1,
    border: 'none',
    padding: 0,
    margin: '0 1px 0 0',
    fontSize: 9,
    lineHeight: `${ROW - 4}px`,
    textAlign: 'center',
    cursor: 'pointer',
    overflow: 'hidden',
    '&:focus-visible': { outline: `2px solid ${theme.colors.primary.border}`, outlineOffset: 1 },
  }),
  selected: css({ outline: `2px solid ${theme.colors.text.primary}`, outlineOffset: -2 }),
  details: css({
    borderTop: `1px solid ${theme.colors.border.medium}`,
    padding: theme.spacing(0.5, 0),
    flexShrink: 0,
    maxHeight: '45%',
    overflow: 'auto',
    display: 'flex',
    flexDirection: 'column',
    gap: theme.spacing(0.5),
  }),
  tooltip: css({
    position: 'fixed',
    zIndex: theme.zIndex.tooltip,
    pointerEvents: 'none',
    maxWidth: 320,
    padding: theme.spacing(0.5, 1),
    background: theme.components.tooltip.background,
    color: theme.components.tooltip.text,
    borderRadius: theme.shape.radius.default,
    boxShadow: theme.shadows.z2,
  }),
});

/** The USE matrix: instances × resources, each cell split into U, S and E, worst instances first. */
export function MatrixView(props: MatrixViewProps) {
  const { series, state, error, width, height, exploreDatasource, exploreRange } = props;
  const { instanceFilter, onFilterInstance, variableName } = props;
  const styles = useStyles2(getStyles);
  const theme = useTheme2();
  const colours = useMemo(() => toneColours(theme), [theme]);
  const matrix = useMemo(() => readMatrix(series), [series]);
  const [filter, setFilter] = useState('');
  const [collapsed, setCollapsed] = useState<Partial<Record<Tone, boolean>>>({});
  const [scrollTop, setScrollTop] = useState(0);
  const [active, setActive] = useState({ row: 0, col: 0 });
  const [selected, setSelected] = useState<MatrixCell | undefined>();
  const [hover, setHover] = useState<{ cell: MatrixCell; x: number; y: number } | undefined>();
  const scroller = useRef<HTMLDivElement>(null);
  const wantFocus = useRef(false);

  const rows = useMemo(
    () => (filter ? matrix.rows.filter((r) => r.instance.toLowerCase().includes(filter.toLowerCase())) : matrix.rows),
    [matrix, filter]
  );
  // Lines: a header per severity group, then its instances (unless the group is collapsed).
  const { lines, lineOfRow } = useMemo(() => {
    const lines: Line[] = [];
    const lineOfRow: number[] = [];
    let k = 0;
    while (k < rows.length) {
      const tone = rows[k].worst;
      let end = k;
      while (end < rows.length && rows[end].worst === tone) {
        end++;
      }
      lines.push({ kind: 'group', tone, count: end - k });
      for (; k < end; k++) {
        if (!collapsed[tone]) {
          lineOfRow[k] = lines.length;
          lines.push({ kind: 'row', row: rows[k], index: k });
        } else {
          lineOfRow[k] = -1;
        }
      }
    }
    return { lines, lineOfRow };
  }, [rows, collapsed]);

  const columns = matrix.components.length * SIGNALS.length;
  const nameWidth = Math.round(Math.min(220, Math.max(70, width * 0.28)));
  const resourceWidth = Math.max(18, Math.floor((width - nameWidth - 14) / Math.max(1, matrix.components.length)));
  const showLetters = resourceWidth >= 48;
  const compact = width < 500;
  // The list takes what the toolbar, header and details leave; the window covers what it shows.
  const viewport = scroller.current?.clientHeight || height;

  // Keep the active cell in view and focused after a keyboard move.
  const reveal = useCallback(
    (row: number) => {
      const line = lineOfRow[row];
      const el = scroller.current;
      if (!el || line === undefined || line < 0) {
        return;
      }
      const top = line * ROW;
      if (top < el.scrollTop) {
        el.scrollTop = top;
      } else if (top + ROW > el.scrollTop + el.clientHeight) {
        el.scrollTop = top + ROW - el.clientHeight;
      }
      setScrollTop(el.scrollTop);
    },
    [lineOfRow]
  );
  useEffect(() => {
    if (wantFocus.current) {
      wantFocus.current = false;
      scroller.current?.querySelector<HTMLElement>(`[data-cell="${active.row}:${active.col}"]`)?.focus();
    }
  });

  const cellAt = (row: number, col: number): MatrixCell | undefined => {
    const r = rows[row];
    const component = matrix.components[Math.floor(col / SIGNALS.length)];
    return r?.cells.get(cellKey(component, SIGNALS[col % SIGNALS.length]));
  };

  const choose = (cell: MatrixCell) => {
    setSelected(cell);
    onFilterInstance?.(cell.instance);
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    const visibleRows = rows.map((_, k) => k).filter((k) => lineOfRow[k] >= 0);
    const pos = visibleRows.indexOf(active.row);
    const page = Math.max(1, Math.floor(viewport / ROW) - 1);
    let { row, col } = active;
    switch (e.key) {
      case 'ArrowRight':
        col = Math.min(columns - 1, col + 1);
        break;
      case 'ArrowLeft':
        col = Math.max(0, col - 1);
        break;
      case 'ArrowDown':
        row = visibleRows[Math.min(visibleRows.length - 1, pos + 1)] ?? row;
        break;
      case 'ArrowUp':
        row = visibleRows[Math.max(0, pos - 1)] ?? row;
        break;
      case 'PageDown':
        row = visibleRows[Math.min(visibleRows.length - 1, pos + page)] ?? row;
        break;
      case 'PageUp':
        row = visibleRows[Math.max(0, pos - page)] ?? row;
        break;
      case 'Home':
        col = 0;
        if (e.ctrlKey) {
          row = visibleRows[0] ?? row;
        }
        break;
      case 'End':
        col = columns - 1;
        if (e.ctrlKey) {
          row = visibleRows[visibleRows.length - 1] ?? row;
        }
        break;
      case 'Enter':
      case ' ': {
        const cell = cellAt(row, col);
        if (cell) {
          choose(cell);
        }
        e.preventDefault();
        return;
      }
      case 'Escape':
        setSelected(undefined);
        return;
      default:
        return;
    }
    e.preventDefault();
    wantFocus.current = true;
    setActive({ row, col });
    reveal(row);
  };

  if (state === LoadingState.Loading && series.length === 0) {
    return <LoadingPlaceholder text="Analysing…" />;
  }

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(lines.length, Math.ceil((scrollTop + viewport) / ROW) + OVERSCAN);
  const flagged = matrix.rows.filter((r) => r.flagged > 0).length;
  const activeRow = lineOfRow[active.row] >= 0 ? active.row : rows.findIndex((_, k) => lineOfRow[k] >= 0);

  return (
    <div className={styles.root} style={{ width, height }} data-testid="gregg-matrix">
      {error && (
        <Alert title="The analysis failed" severity="error">
          {error}
        </Alert>
      )}
      {matrix.problems.length > 0 && (
        <Alert title="Some of the data could not be read" severity="warning">
          {matrix.problems.join('; ')}
        </Alert>
      )}
      <div className={styles.toolbar}>
        <div style={{ width: compact ? 110 : 200 }}>
          <Input
            placeholder="Filter instances"
            aria-label="Filter instances"
            value={filter}
            onChange={(e) => setFilter(e.currentTarget.value)}
          />
        </div>
        <span data-testid="gregg-matrix-count" aria-live="polite">
          {matrix.rows.length.toLocaleString()} instances · {flagged.toLocaleString()} flagged
        </span>
        <ul className={styles.legend} aria-label="Legend">
          {TONES.filter((t) => t !== 'info').map((t) => (
            <li key={t}>
              <span
                className={styles.swatch}
                style={{ background: colours[t].fill, color: colours[t].text }}
                aria-hidden
              >
                {TONE_INFO[t].glyph}
              </span>
              {compact ? TONE_INFO[t].label.replace('No data', 'None') : TONE_INFO[t].label}
            </li>
          ))}
        </ul>
      </div>
      {matrix.rows.length === 0 && !error ? (
        <div data-testid="gregg-matrix-empty">
          No instances in the matrix: no target matched the selection in this window.
        </div>
      ) : (
        <>
          <div className={styles.header} aria-hidden>
            <div className={styles.name} style={{ width: nameWidth }}>
              Instance
            </div>
            {matrix.components.map((c) => (
              <div
                key={c}
                className={styles.resource}
                style={{ width: resourceWidth, flexDirection: 'column', height: 'auto' }}
              >
                <span className={styles.name}>{c}</span>
                {showLetters && <span>U · S · E</span>}
              </div>
            ))}
          </div>
          <div
            ref={scroller}
            className={styles.scroller}
            role="grid"
            aria-label={`USE matrix: ${matrix.rows.length} instances by ${matrix.components.join(', ')}; utilization, saturation and errors per resource, worst first`}
            aria-rowcount={rows.length}
            aria-colcount={columns + 1}
            onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
            onKeyDown={onKeyDown}
            onMouseLeave={() => setHover(undefined)}
          >
            <div style={{ height: lines.length * ROW }} role="presentation">
              {lines.slice(first, last).map((line, k) => {
                const top = (first + k) * ROW;
                if (line.kind === 'group') {
                  const open = !collapsed[line.tone];
                  return (
                    <div key={`g-${line.tone}`} className={cx(styles.line, styles.group)} style={{ top }} role="row">
                      <span role="rowheader">
                        <IconButton
                          name={open ? 'angle-down' : 'angle-right'}
                          aria-expanded={open}
                          aria-label={`${open ? 'Collapse' : 'Expand'} ${TONE_INFO[line.tone].label} (${line.count})`}
                          onClick={() => setCollapsed({ ...collapsed, [line.tone]: open })}
                          size="sm"
                        />
                        <span
                          className={styles.swatch}
                          style={{ background: colours[line.tone].fill, color: colours[line.tone].text }}
                        >
                          {TONE_INFO[line.tone].glyph}
                        </span>
                        {TONE_INFO[line.tone].label} ({line.count.toLocaleString()})
                      </span>
                    </div>
                  );
                }
                const r = line.row;
                return (
                  <div
                    key={r.instance}
                    className={styles.line}
                    style={{ top }}
                    role="row"
                    aria-rowindex={line.index + 1}
                    data-testid="gregg-matrix-row"
                  >
                    <div
                      role="rowheader"
                      className={cx(
                        styles.name,
                        instanceFilter !== undefined && matchesVariable(r.instance, instanceFilter) && styles.current
                      )}
                      style={{ width: nameWidth }}
                      title={r.instance}
                    >
                      {r.instance}
                    </div>
                    {matrix.components.map((component, ci) => (
                      <div key={component} className={styles.resource} style={{ width: resourceWidth }}>
                        {SIGNALS.map((signal, si) => {
                          const col = ci * SIGNALS.length + si;
                          const cell = r.cells.get(cellKey(component, signal));
                          const tone: Tone = cell?.tone ?? 'none';
                          const isActive = line.index === activeRow && col === active.col;
                          const isSelected =
                            selected !== undefined &&
                            selected.instance === r.instance &&
                            selected.component === component &&
                            selected.signal === signal;
                          return (
                            <button
                              key={signal}
                              type="button"
                              role="gridcell"
                              data-cell={`${line.index}:${col}`}
                              data-tone={tone}
                              tabIndex={isActive ? 0 : -1}
                              aria-selected={isSelected}
                              aria-label={cell ? describeCell(cell) : `${r.instance} ${component} ${signal}: no data`}
                              className={cx(styles.sub, isSelected && styles.selected)}
                              style={{ background: colours[tone].fill, color: colours[tone].text }}
                              onClick={() => {
                                setActive({ row: line.index, col });
                                if (cell) {
                                  choose(cell);
                                }
                              }}
                              onFocus={() => setActive({ row: line.index, col })}
                              onMouseEnter={(e) => cell && setHover({ cell, x: e.clientX, y: e.clientY })}
                            >
                              {showLetters ? SIGNAL_LETTER[signal] : ''}
                            </button>
                          );
                        })}
                      </div>
                    ))}
                  </div>
                );
              })}
            </div>
          </div>
        </>
      )}
      {hover && (
        <div
          className={styles.tooltip}
          role="tooltip"
          data-testid="gregg-matrix-tooltip"
          style={{ left: Math.min(hover.x + 12, window.innerWidth - 330), top: hover.y + 14 }}
        >
          {describeCell(hover.cell)}
        </div>
      )}
      {selected && (
        <Details
          matrix={matrix}
          cell={selected}
          styles={styles}
          exploreDatasource={exploreDatasource}
          exploreRange={exploreRange}
          variableName={variableName}
          filtered={instanceFilter !== undefined && matchesVariable(selected.instance, instanceFilter)}
          onFilter={onFilterInstance}
          onClose={() => setSelected(undefined)}
        />
      )}
    </div>
  );
}

function Details({
  matrix,
  cell,
  styles,
  exploreDatasource,
  exploreRange,
  variableName,
  filtered,
  onFilter,
  onClose,
}: {
  matrix: Matrix;
  cell: MatrixCell;
  styles: ReturnType<typeof getStyles>;
  exploreDatasource?: string;
  exploreRange?: ExploreRange;
  variableName?: string;
  filtered: boolean;
  onFilter?: (instance: string | undefined) => void;
  onClose: () => void;
}) {
  const insight = insightFor(matrix, cell);
  const expr = insight?.relatedMetrics[0];
  return (
    <section className={styles.details} aria-label="Cell details" data-testid="gregg-matrix-details">
      <div style={{ display: 'flex', alignItems: 'center', gap: 8, flexWrap: 'wrap' }}>
        <strong>
          {cell.instance} · {cell.component} · {cell.signal}
        </strong>
        <Badge text={TONE_INFO[cell.tone].label} color={TONE_INFO[cell.tone].badge} icon={TONE_INFO[cell.tone].icon} />
        <IconButton name="times" aria-label="Close details" onClick={onClose} size="sm" />
      </div>
      <div>{describeCell(cell)}</div>
      {insight ? (
        <div data-testid="gregg-matrix-insight">
          <Badge text={insight.severity} color={TONE_INFO[insight.severity].badge} /> {insight.title}
        </div>
      ) : (
        <div>No finding on this cell.</div>
      )}
      <div style={{ display: 'flex', gap: 8, flexWrap: 'wrap' }}>
        {expr && (
          <LinkButton
            size="sm"
            variant="secondary"
            icon="compass"
            href={exploreLink(expr, exploreDatasource, exploreRange, config.appSubUrl ?? '')}
            target="_blank"
          >
            Open in Explore
          </LinkButton>
        )}
        {onFilter && variableName && (
          <Button
            size="sm"
            variant="secondary"
            icon="filter"
            onClick={() => onFilter(filtered ? undefined : cell.instance)}
          >
            {filtered ? `Clear $${variableName}` : `Filter the dashboard to ${cell.instance}`}
          </Button>
        )}
      </div>
    </section>
  );
}
