import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import {
  Auth,
  AuthMethod,
  ConfigSection,
  ConnectionSettings,
  DataSourceDescription,
  convertLegacyAuthProps,
} from '@grafana/plugin-ui';
import { Divider, Field, Input, SecretInput } from '@grafana/ui';

import { GreggOptions, GreggSecureOptions } from '../types';
import { ThresholdOverrides } from './ThresholdOverrides';

type Props = DataSourcePluginOptionsEditorProps<GreggOptions, GreggSecureOptions>;

/** The custom auth method id for a bearer token (plugin-ui's Auth has none built in). */
const BEARER = 'custom-bearer' as const;

/**
 * The data source's settings, stored under Grafana's standard names (url, basicAuth, basicAuthUser,
 * secureJsonData.basicAuthPassword, tlsAuthWithCACert/tlsCACert, tlsSkipVerify, tlsAuth/tlsClientCert/
 * tlsClientKey, httpHeaderNameN/httpHeaderValueN, timeout) so a provisioning file reads like a Prometheus data
 * source's; the backend (`src/settings.rs`) reads the same names. Connection and auth use @grafana/plugin-ui's
 * components, as Grafana's own data sources do; secrets are write-only with a "configured" state and a reset.
 */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields } = options;
  const secure = options.secureJsonData ?? {};

  const setJson = (patch: Partial<GreggOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });
  const setSecret = (key: keyof GreggSecureOptions, value: string) =>
    onOptionsChange({ ...options, secureJsonData: { ...secure, [key]: value } });
  const resetSecret = (key: keyof GreggSecureOptions) =>
    onOptionsChange({
      ...options,
      secureJsonFields: { ...secureJsonFields, [key]: false },
      secureJsonData: { ...secure, [key]: '' },
    });

  /** A write-only secret: shown as "configured" once saved, with a reset. */
  const secretInput = (key: keyof GreggSecureOptions, testId: string) => (
    <SecretInput
      data-testid={testId}
      width={40}
      isConfigured={Boolean(secureJsonFields?.[key])}
      value={secure[key] ?? ''}
      onChange={(e: ChangeEvent<HTMLInputElement>) => setSecret(key, e.target.value)}
      onReset={() => resetSecret(key)}
    />
  );

  const bearerConfigured = Boolean(secureJsonFields?.bearerToken) || Boolean(secure.bearerToken);
  const legacy = convertLegacyAuthProps({ config: options, onChange: onOptionsChange });
  const selectedMethod: AuthMethod | typeof BEARER = options.basicAuth
    ? AuthMethod.BasicAuth
    : jsonData.authMethod === 'bearer' || (jsonData.authMethod === undefined && bearerConfigured)
      ? BEARER
      : AuthMethod.NoAuth;

  const selectAuth = (method: string) => {
    // The backend sends a bearer token whenever one is stored and basic auth is off, so leaving the
    // bearer method clears the token rather than leaving a credential the form no longer shows.
    const leavingBearer = method !== BEARER && bearerConfigured;
    onOptionsChange({
      ...options,
      basicAuth: method === AuthMethod.BasicAuth,
      jsonData: { ...jsonData, authMethod: method === BEARER ? 'bearer' : undefined },
      secureJsonFields: leavingBearer ? { ...secureJsonFields, bearerToken: false } : secureJsonFields,
      secureJsonData: leavingBearer ? { ...secure, bearerToken: '' } : secure,
    });
  };

  return (
    <>
      <DataSourceDescription
        dataSourceName="Gregg Insights"
        docsLink="https://www.brendangregg.com/usemethod.html"
        hasRequiredFields
      />
      <Divider />
      <ConnectionSettings
        config={options}
        onChange={onOptionsChange}
        urlPlaceholder="http://localhost:9090"
        urlLabel="Prometheus server URL"
        urlTooltip="The Prometheus that scrapes your node_exporters. The plugin's backend queries it, not the browser."
      />
      <Divider />
      <Auth
        {...legacy}
        selectedMethod={selectedMethod}
        visibleMethods={[AuthMethod.NoAuth, AuthMethod.BasicAuth, BEARER]}
        onAuthMethodSelect={selectAuth}
        customMethods={[
          {
            id: BEARER,
            label: 'Bearer token',
            description: 'Sends Authorization: Bearer <token>, e.g. for a Prometheus behind an auth proxy.',
            component: (
              <Field label="Token" description="Stored encrypted; never sent back to the browser.">
                {secretInput('bearerToken', 'bearer-token')}
              </Field>
            ),
          },
        ]}
      />
      <Divider />
      <ConfigSection
        title="Advanced settings"
        description="Timeout and how much the plugin may ask of Prometheus at once."
        isCollapsible
        isInitiallyOpen={
          jsonData.timeout !== undefined ||
          jsonData.maxConcurrentQueries !== undefined ||
          jsonData.querySampleBudget !== undefined
        }
      >
        <Field label="Timeout" description="Seconds for each Prometheus request, queueing included. Default 30.">
          <Input
            data-testid="timeout"
            type="number"
            width={20}
            min={1}
            value={jsonData.timeout ?? ''}
            placeholder="30"
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              setJson({ timeout: e.target.value === '' ? undefined : Number(e.target.value) })
            }
          />
        </Field>
        <Field
          label="Concurrent queries"
          description="Most Prometheus requests in flight from this data source. Default 8."
        >
          <Input
            data-testid="max-concurrent-queries"
            type="number"
            width={20}
            min={1}
            value={jsonData.maxConcurrentQueries ?? ''}
            placeholder="8"
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              setJson({ maxConcurrentQueries: e.target.value === '' ? undefined : Number(e.target.value) })
            }
          />
        </Field>
        <Field
          label="Query sample budget"
          description="Samples one query may load; a larger check query is sent in instance groups. Set it below the engine's limit (Prometheus --query.max-samples) when that is lower. Default 10,000,000."
        >
          <Input
            data-testid="query-sample-budget"
            type="number"
            width={20}
            min={1}
            max={1000000000}
            step={1}
            value={jsonData.querySampleBudget ?? ''}
            placeholder="10000000"
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              setJson({ querySampleBudget: e.target.value === '' ? undefined : Number(e.target.value) })
            }
          />
        </Field>
      </ConfigSection>
      <Divider />
      <ConfigSection title="Targets" description="Which node_exporter targets the analysis covers.">
        <Field
          label="Target selector"
          description='Label matchers restricting which node_exporter targets are analysed, e.g. job="node". Empty: all.'
        >
          <Input
            data-testid="target-selector"
            width={40}
            value={jsonData.targetSelector ?? ''}
            placeholder='job="node"'
            onChange={(e: ChangeEvent<HTMLInputElement>) => setJson({ targetSelector: e.target.value })}
          />
        </Field>
      </ConfigSection>
      <Divider />
      <ConfigSection
        title="Grafana dashboards"
        description="For dashboard analysis: the Grafana API to read dashboards from, and a service account token with the Viewer role."
        isCollapsible
        isInitiallyOpen={Boolean(jsonData.grafanaUrl) || Boolean(secureJsonFields?.grafanaToken)}
      >
        <Field label="Grafana URL" description="Empty: the URL this Grafana gives its plugins (its root_url).">
          <Input
            data-testid="grafana-url"
            width={40}
            value={jsonData.grafanaUrl ?? ''}
            placeholder="http://localhost:3000"
            onChange={(e: ChangeEvent<HTMLInputElement>) => setJson({ grafanaUrl: e.target.value })}
          />
        </Field>
        <Field label="Service account token" description="Stored encrypted; never sent back to the browser.">
          {secretInput('grafanaToken', 'grafana-token')}
        </Field>
      </ConfigSection>
      <Divider />
      <ConfigSection
        title="Threshold overrides"
        description="Warning and critical levels per check; an empty field keeps the catalog default shown."
      >
        <ThresholdOverrides
          uid={options.id ? options.uid : undefined}
          value={jsonData.thresholds ?? {}}
          onChange={(thresholds) => setJson({ thresholds })}
        />
      </ConfigSection>
    </>
  );
}
