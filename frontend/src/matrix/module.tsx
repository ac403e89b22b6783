import { PanelPlugin } from '@grafana/data';

import { MatrixOptions, MatrixPanel } from './components/MatrixPanel';

/** The Gregg Insights USE matrix panel: use it with the data source's `use_matrix` query. */
export const plugin = new PanelPlugin<MatrixOptions>(MatrixPanel).setPanelOptions((builder) =>
  builder
    .addTextInput({
      path: 'variable',
      name: 'Instance variable',
      description:
        'Dashboard variable a click on a cell sets to its instance, so the report panel (whose query uses it) follows; empty for none',
      defaultValue: 'instance',
    })
    .addTextInput({
      path: 'exploreDatasource',
      name: 'Explore data source',
      description: 'Prometheus data source uid for the Explore links (default data source when empty)',
      defaultValue: '',
    })
);
