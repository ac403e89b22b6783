import { CoreApp, DataSourceInstanceSettings } from '@grafana/data';
import { DataSourceWithBackend } from '@grafana/runtime';

import { DEFAULT_QUERY, GreggOptions, GreggQuery } from './types';

/** The Gregg Insights data source: every query runs in the backend plugin. */
export class DataSource extends DataSourceWithBackend<GreggQuery, GreggOptions> {
  /** Annotation queries use the default editor and run as ordinary backend queries. */
  annotations = {};

  constructor(instanceSettings: DataSourceInstanceSettings<GreggOptions>) {
    super(instanceSettings);
  }

  getDefaultQuery(_: CoreApp): Partial<GreggQuery> {
    return DEFAULT_QUERY;
  }
}
