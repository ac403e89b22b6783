import { AppPlugin } from '@grafana/data';

import { App } from './components/App';

/** The Gregg Insights app: it ships the data source and the report panel as one plugin. */
export const plugin = new AppPlugin<{}>().setRootPage(App);
