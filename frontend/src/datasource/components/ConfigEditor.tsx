import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { DataSourceHttpSettings, Field, Input, SecretInput } from '@grafana/ui';

import { GreggOptions, GreggSecureOptions } from '../types';
import { ThresholdOverrides } from './ThresholdOverrides';

type Props = DataSourcePluginOptionsEditorProps<GreggOptions, GreggSecureOptions>;

/**
 * Connection settings use Grafana's standard HTTP fields (URL, basic auth, TLS, custom headers, timeout), so a
 * provisioning file looks like a Prometheus data source's. The full editor comes with the frontend issue.
 */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secure = options.secureJsonData ?? {};

  return (
    <>
      <DataSourceHttpSettings
        defaultUrl="http://localhost:9090"
        dataSourceConfig={options}
        onChange={onOptionsChange}
        showAccessOptions={false}
      />
      <h3 className="page-heading">Gregg Insights</h3>
      <Field
        label="Target selector"
        description='Label matchers restricting which node_exporter targets are analysed, e.g. job="node". Empty: all.'
      >
        <Input
          data-testid="target-selector"
          value={jsonData.targetSelector ?? ''}
          placeholder='job="node"'
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            onOptionsChange({ ...options, jsonData: { ...jsonData, targetSelector: e.target.value } })
          }
        />
      </Field>
      <Field label="Bearer token" description="Sent as Authorization: Bearer when basic auth is off.">
        <SecretInput
          data-testid="bearer-token"
          isConfigured={Boolean(secureJsonFields?.bearerToken)}
          value={secure.bearerToken ?? ''}
          onChange={(e: ChangeEvent<HTMLInputElement>) =>
            onOptionsChange({ ...options, secureJsonData: { ...secure, bearerToken: e.target.value } })
          }
          onReset={() =>
            onOptionsChange({
              ...options,
              secureJsonFields: { ...secureJsonFields, bearerToken: false },
              secureJsonData: { ...secure, bearerToken: '' },
            })
          }
        />
      </Field>
      <Field label="Threshold overrides" description="Per check; empty means the catalog default.">
        <ThresholdOverrides
          uid={options.id ? options.uid : undefined}
          value={jsonData.thresholds ?? {}}
          onChange={(thresholds) => onOptionsChange({ ...options, jsonData: { ...jsonData, thresholds } })}
        />
      </Field>
    </>
  );
}
