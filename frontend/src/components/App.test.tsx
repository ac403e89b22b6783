import React from 'react';
import { of, throwError } from 'rxjs';
import { render, screen } from '@testing-library/react';
import { FieldType, dataFrameToJSON, toDataFrame } from '@grafana/data';

import { App } from './App';

const fetch = jest.fn();
const getList = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getBackendSrv: () => ({ fetch }),
  getDataSourceSrv: () => ({ getList }),
}));

const source = { uid: 'gregg', name: 'Gregg Insights', type: 'gregg-insights-datasource' };

/** A one-insight `insights` frame as /api/ds/query returns it (data frame JSON). */
function reportResponse() {
  const frame = toDataFrame({
    name: 'insights',
    fields: [
      { name: 'id', type: FieldType.string, values: ['cpu.saturation:web-1'] },
      { name: 'severity', type: FieldType.string, values: ['critical'] },
      { name: 'title', type: FieldType.string, values: ['CPU bottleneck on web-1:9100'] },
      { name: 'component', type: FieldType.string, values: ['cpu'] },
      { name: 'instance', type: FieldType.string, values: ['web-1:9100'] },
      { name: 'issue_type', type: FieldType.string, values: ['bottleneck'] },
    ],
  });
  return { data: { results: { report: { status: 200, frames: [dataFrameToJSON(frame)] } } } };
}

const props = {} as React.ComponentProps<typeof App>;

describe('App (Insights page)', () => {
  beforeEach(() => {
    fetch.mockReset();
    getList.mockReset().mockReturnValue([source]);
  });

  it('asks the first Gregg Insights data source for a report and renders its cards', async () => {
    fetch.mockReturnValue(of(reportResponse()));
    render(<App {...props} />);
    expect(await screen.findByText(/CPU bottleneck on web-1:9100/)).toBeInTheDocument();
    expect(screen.getByTestId('gregg-summary')).toHaveTextContent('Critical 1');
    expect(screen.getByRole('combobox', { name: 'Window' })).toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Data source' })).toBeInTheDocument();
    expect(getList).toHaveBeenCalledWith({ pluginId: 'gregg-insights-datasource' });
    const request = fetch.mock.calls[0][0];
    expect(request.url).toBe('/api/ds/query');
    expect(request.data.queries[0]).toEqual(
      expect.objectContaining({ queryType: 'report', datasource: { type: source.type, uid: 'gregg' } })
    );
    expect(request.data.from).toBe('now-5m');
    expect(request.data.queries[0].window).toBe('5m');
  });

  it("shows the backend's error instead of a blank page", async () => {
    fetch.mockReturnValue(
      throwError(() => ({ status: 500, data: { message: 'Prometheus at prometheus:9090 did not answer in 30s' } }))
    );
    render(<App {...props} />);
    expect(await screen.findByText(/did not answer in 30s/)).toBeInTheDocument();
  });

  it('explains how to start when no Gregg Insights data source exists', () => {
    getList.mockReturnValue([]);
    render(<App {...props} />);
    expect(screen.getByText('Add a data source')).toBeInTheDocument();
    expect(fetch).not.toHaveBeenCalled();
  });
});
