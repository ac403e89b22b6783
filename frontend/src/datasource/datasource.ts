import { CoreApp, DataSourceInstanceSettings, DataSourceVariableSupport, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY, GreggOptions, GreggQuery } from './types';

/**
 * Template variables use the query editor: an `instances` query (one string field) lists the
 * instances of the selection.
 */
export class GreggVariableSupport extends DataSourceVariableSupport<DataSource> {}

/** The Gregg Insights data source: every query runs in the backend plugin. */
export class DataSource extends DataSourceWithBackend<GreggQuery, GreggOptions> {
  /** Annotation queries use the default editor and run as ordinary backend queries. */
  annotations = {};

  constructor(instanceSettings: DataSourceInstanceSettings<GreggOptions>) {
    super(instanceSettings);
    this.variables = new GreggVariableSupport();
  }

  getDefaultQuery(_: CoreApp): Partial<GreggQuery> {
    return DEFAULT_QUERY;
  }

  /**
   * Interpolate dashboard variables before the query reaches the backend: `instances` in
   * regex format (a multi-value `$instance` becomes `(a|b)`, each value escaped), the other
   * text fields as plain text.
   */
  applyTemplateVariables(query: GreggQuery, scopedVars: ScopedVars): GreggQuery {
    const srv = getTemplateSrv();
    const text = (v?: string) => (v === undefined ? v : srv.replace(v, scopedVars));
    return {
      ...query,
      instances: query.instances === undefined ? undefined : srv.replace(query.instances, scopedVars, 'regex'),
      window: text(query.window),
      // A variable's value is a severity name, or the backend's error names `minSeverity`.
      minSeverity: text(query.minSeverity) as GreggQuery['minSeverity'],
      histogram: text(query.histogram),
      expr: text(query.expr),
    };
  }
}
