import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';

import { QueryEditor } from './QueryEditor';
import { DataSource } from '../datasource';
import { GreggQuery } from '../types';

function setup(query: GreggQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  render(<QueryEditor datasource={{} as DataSource} query={query} onChange={onChange} onRunQuery={onRunQuery} />);
  return { onChange, onRunQuery };
}

describe('QueryEditor', () => {
  it('edits the filters every query type honours', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: 'insights' });
    fireEvent.change(screen.getByTestId('query-instances'), { target: { value: '$instance' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ instances: '$instance' }));
    fireEvent.change(screen.getByTestId('query-histogram'), { target: { value: 'http_seconds' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ histogram: 'http_seconds' }));
    const thresholds = screen.getByTestId('query-thresholds');
    fireEvent.change(thresholds, { target: { value: '{"cpu.utilization": {"warning": 70}}' } });
    fireEvent.blur(thresholds);
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ thresholds: { 'cpu.utilization': { warning: 70 } } })
    );
    expect(onRunQuery).toHaveBeenCalled();
    // The custom check's fields only appear for promql_check.
    expect(screen.queryByTestId('query-expr')).toBeNull();
  });

  it('shows the custom PromQL check editor for promql_check', () => {
    const { onChange } = setup({ refId: 'A', queryType: 'promql_check', expr: 'up' });
    const expr = screen.getByTestId('query-expr');
    expect(expr).toHaveValue('up');
    fireEvent.change(expr, { target: { value: 'avg by (instance) (up{${selector}})' } });
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ expr: 'avg by (instance) (up{${selector}})', queryType: 'promql_check' })
    );
  });
  it('edits the dashboard query: uid, panel ids and variables, refusing variables that are not JSON', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: 'dashboard' });
    fireEvent.change(screen.getByTestId('dashboard-uid'), { target: { value: 'rYdddlPWk' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ dashboardUid: 'rYdddlPWk' }));
    fireEvent.blur(screen.getByTestId('dashboard-panels'), { target: { value: '2, 7,x' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ panelIds: [2, 7] }));
    const variables = screen.getByTestId('dashboard-variables');
    onChange.mockClear();
    fireEvent.blur(variables, { target: { value: '{job: node' } });
    expect(onChange).not.toHaveBeenCalled();
    expect(screen.getByText(/Not JSON/)).toBeInTheDocument();
    fireEvent.blur(variables, { target: { value: '{"job": "node", "instance": ["a:9100"]}' } });
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ variables: { job: 'node', instance: ['a:9100'] } })
    );
    expect(screen.queryByText(/Not JSON/)).toBeNull();
    expect(onRunQuery).toHaveBeenCalled();
  });
});
