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
});
