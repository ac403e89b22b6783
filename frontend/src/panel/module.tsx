import { PanelPlugin } from '@grafana/data';

import { ReportPanel } from './components/ReportPanel';

/** The Gregg Insights Report panel. */
export const plugin = new PanelPlugin(ReportPanel);
