import { PanelPlugin } from '@grafana/data';

import { ReportOptions, ReportPanel } from './components/ReportPanel';

/** The Gregg Insights Report panel: use it with the data source's `report` or `insights` query. */
export const plugin = new PanelPlugin<ReportOptions>(ReportPanel).setPanelOptions((builder) =>
  builder
    .addTextInput({
      path: 'exploreDatasource',
      name: 'Explore data source',
      description: 'Prometheus data source uid for the related-metric links (default data source when empty)',
      defaultValue: '',
    })
    .addTextInput({
      path: 'variable',
      name: 'Instance variable',
      description:
        'Dashboard variable whose instances the panel shows (a click in the USE matrix panel sets it); empty for none',
      defaultValue: 'instance',
    })
);
