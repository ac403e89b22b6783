import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';

const get = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getBackendSrv: () => ({ get }),
}));
import { GreggOptions, GreggSecureOptions } from '../types';

function settings(
  jsonData: GreggOptions = {},
  secureJsonFields = {}
): DataSourceSettings<GreggOptions, GreggSecureOptions> {
  return {
    id: 1,
    uid: 'gregg',
    orgId: 1,
    name: 'Gregg Insights',
    type: 'gregg-insights-datasource',
    typeName: 'Gregg Insights',
    typeLogoUrl: '',
    access: 'proxy',
    url: 'http://prometheus:9090',
    user: '',
    // Required by the type, though deprecated for every data source but Elasticsearch and InfluxDB.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    jsonData,
    secureJsonFields,
    readOnly: false,
    withCredentials: false,
  };
}

describe('ConfigEditor', () => {
  beforeEach(() => get.mockReset().mockResolvedValue({ checks: [] }));

  it('writes the target selector into jsonData', async () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={settings()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByTestId('target-selector'), { target: { value: 'job="node"' } });
    expect(onOptionsChange).toHaveBeenCalledWith(
      expect.objectContaining({ jsonData: expect.objectContaining({ targetSelector: 'job="node"' }) })
    );
    await screen.findByTestId('threshold-overrides');
  });

  it('shows a configured query sample budget and writes a new one as a number', async () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={settings({ querySampleBudget: 40000 })} onOptionsChange={onOptionsChange} />);
    // A configured budget opens the advanced section so it is seen.
    const input = screen.getByTestId('query-sample-budget');
    expect(input).toHaveValue(40000);
    fireEvent.change(input, { target: { value: '250000' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: expect.objectContaining({ querySampleBudget: 250000 }) })
    );
    fireEvent.change(input, { target: { value: '' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: expect.objectContaining({ querySampleBudget: undefined }) })
    );
    await screen.findByTestId('threshold-overrides');
  });

  it('keeps a configured bearer token write-only and resettable', async () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={settings({}, { bearerToken: true })} onOptionsChange={onOptionsChange} />);
    // A configured secret is never shown, only reported as configured.
    expect(screen.getByDisplayValue('configured')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(onOptionsChange).toHaveBeenCalledWith(
      expect.objectContaining({ secureJsonFields: expect.objectContaining({ bearerToken: false }) })
    );
    await screen.findByTestId('threshold-overrides');
  });

  it('lists the checks with their defaults and writes overrides into jsonData.thresholds', async () => {
    get.mockResolvedValue({
      checks: [
        {
          id: 'cpu.utilization',
          label: 'CPU utilization',
          component: 'cpu',
          direction: 'above',
          unit: 'percent',
          defaults: { warning: 80, critical: 95 },
        },
      ],
    });
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={settings()} onOptionsChange={onOptionsChange} />);
    const input = await screen.findByLabelText('cpu.utilization warning');
    expect(get).toHaveBeenCalledWith('/api/datasources/uid/gregg/resources/checks');
    expect(input).toHaveAttribute('placeholder', '80');
    fireEvent.blur(input, { target: { value: '70' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({
        jsonData: expect.objectContaining({ thresholds: { 'cpu.utilization': { warning: 70 } } }),
      })
    );
  });
  it('switches auth methods with plugin-ui: basic auth on, and leaving bearer clears the stored token', async () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={settings({}, { bearerToken: true })} onOptionsChange={onOptionsChange} />);
    const method = screen.getByRole('combobox');
    fireEvent.keyDown(method, { key: 'ArrowDown' });
    fireEvent.click(await screen.findByText('Basic authentication'));
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({
        basicAuth: true,
        secureJsonFields: expect.objectContaining({ bearerToken: false }),
        secureJsonData: expect.objectContaining({ bearerToken: '' }),
      })
    );
  });

  it('turns on a custom CA certificate and writes it as a secret', async () => {
    const onOptionsChange = jest.fn();
    const { rerender } = render(<ConfigEditor options={settings()} onOptionsChange={onOptionsChange} />);
    fireEvent.click(screen.getByLabelText('Add self-signed certificate'));
    const enabled = onOptionsChange.mock.lastCall[0];
    expect(enabled.jsonData.tlsAuthWithCACert).toBe(true);
    rerender(<ConfigEditor options={enabled} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText(/BEGIN CERTIFICATE/), {
      target: { value: '-----BEGIN CERTIFICATE-----' },
    });
    expect(onOptionsChange.mock.lastCall[0].secureJsonData.tlsCACert).toBe('-----BEGIN CERTIFICATE-----');
  });

  it('keeps the Grafana service account token write-only, and writes the Grafana URL', async () => {
    const onOptionsChange = jest.fn();
    render(
      <ConfigEditor
        options={settings({ grafanaUrl: 'http://g:3000' }, { grafanaToken: true })}
        onOptionsChange={onOptionsChange}
      />
    );
    expect(screen.getByTestId('grafana-url')).toHaveValue('http://g:3000');
    expect(screen.queryByDisplayValue(/glsa_/)).toBeNull();
    fireEvent.change(screen.getByTestId('grafana-url'), { target: { value: 'https://grafana.example' } });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: expect.objectContaining({ grafanaUrl: 'https://grafana.example' }) })
    );
  });
});
