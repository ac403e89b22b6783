import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
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
  it('writes the target selector into jsonData', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={settings()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByTestId('target-selector'), { target: { value: 'job="node"' } });
    expect(onOptionsChange).toHaveBeenCalledWith(
      expect.objectContaining({ jsonData: expect.objectContaining({ targetSelector: 'job="node"' }) })
    );
  });

  it('keeps a configured bearer token write-only and resettable', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={settings({}, { bearerToken: true })} onOptionsChange={onOptionsChange} />);
    // A configured secret is never shown, only reported as configured.
    expect(screen.getByDisplayValue('configured')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(onOptionsChange).toHaveBeenCalledWith(
      expect.objectContaining({ secureJsonFields: expect.objectContaining({ bearerToken: false }) })
    );
  });
});
