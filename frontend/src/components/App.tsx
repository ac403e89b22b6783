import React from 'react';
import { AppRootProps } from '@grafana/data';
import { TextLink } from '@grafana/ui';

/** The app's root page: what the app contains and where to start. */
export function App(_props: AppRootProps) {
  return (
    <div data-testid="gregg-insights-app">
      <h2>Gregg Insights</h2>
      <p>
        Brendan Gregg&apos;s USE method (utilization, saturation and errors for every resource) over the Prometheus and
        node_exporter metrics you already keep.
      </p>
      <ol>
        <li>
          Add a <strong>Gregg Insights</strong> data source pointing at your Prometheus and press{' '}
          <em>Save &amp; test</em>.
        </li>
        <li>
          Query it from any panel, or use the <strong>Gregg Insights Report</strong> panel.
        </li>
      </ol>
      <TextLink href="https://www.brendangregg.com/usemethod.html" external>
        The USE Method
      </TextLink>
    </div>
  );
}
