import { DataSourceInstanceSettings, VariableSupportType } from '@grafana/data';

import { DataSource } from './datasource';
import { GreggOptions } from './types';

const replace = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getTemplateSrv: () => ({ replace }),
}));

describe('DataSource.applyTemplateVariables', () => {
  beforeEach(() => {
    replace.mockReset();
    // A stand-in for Grafana's template service: `$instance` is multi-valued.
    replace.mockImplementation((text: string, _vars: unknown, format?: string) =>
      text.replace('$instance', format === 'regex' ? '(a:9100|b\\.x:9100)' : '{a:9100,b.x:9100}')
    );
  });

  it('interpolates instances in regex format and other fields as text', () => {
    const ds = new DataSource({ uid: 'g', jsonData: {} } as unknown as DataSourceInstanceSettings<GreggOptions>);
    const out = ds.applyTemplateVariables(
      { refId: 'A', queryType: 'insights', instances: '$instance', window: '10m' },
      {}
    );
    expect(out.instances).toBe('(a:9100|b\\.x:9100)');
    expect(out.window).toBe('10m');
    expect(replace).toHaveBeenCalledWith('$instance', {}, 'regex');
  });

  it('leaves absent fields absent', () => {
    const ds = new DataSource({ uid: 'g', jsonData: {} } as unknown as DataSourceInstanceSettings<GreggOptions>);
    const out = ds.applyTemplateVariables({ refId: 'A', queryType: 'alert' }, {});
    expect(out.instances).toBeUndefined();
    expect(out.expr).toBeUndefined();
  });
});

describe('DataSource variables', () => {
  it('use the query editor (an instances query lists the instances)', () => {
    const ds = new DataSource({ uid: 'g', jsonData: {} } as unknown as DataSourceInstanceSettings<GreggOptions>);
    expect(ds.variables?.getType()).toBe(VariableSupportType.Datasource);
  });
});
