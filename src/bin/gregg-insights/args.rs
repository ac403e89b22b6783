//! Command-line arguments, and their conversion into the library's configuration types.
//!
//! Connection options mirror the data source settings. Secrets are only ever read from files,
//! so they never show up in `ps`, shell history or CI logs.

use std::{path::PathBuf, time::Duration};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{
    builder::{PossibleValue, PossibleValuesParser, TypedValueParser},
    Args, Parser, Subcommand, ValueEnum,
};
use gregg_insights::{
    catalog::{ThresholdOverride, ThresholdOverrides},
    insight::Severity,
    methods::{HistogramRequest, Method, MethodsRequest, Slo},
    prometheus::{Auth, ClientConfig, DEFAULT_MAX_CONCURRENT_REQUESTS},
    promql::Selector,
    request::{
        self,
        filters::severity as parse_severity,
        format::{Format, FORMATS},
        methods::{group_by as parse_group, histogram as parse_histogram, slo as parse_slo},
        parse_duration, parse_time,
    },
    secret::Secret,
};
use url::Url;

/// Brendan Gregg's performance methodologies over Prometheus and node_exporter metrics.
#[derive(Debug, Parser)]
#[command(name = "gregg-insights", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that Prometheus answers and has node_exporter data (exit 1 if not).
    Health {
        /// Connection options.
        #[command(flatten)]
        connection: Connection,
        /// Output format.
        #[arg(long, value_enum, default_value_t = HealthFormat::Text)]
        format: HealthFormat,
    },
    /// Run the analysis and print the report.
    Analyze {
        /// Connection options.
        #[command(flatten)]
        connection: Connection,
        /// Evaluation time: RFC 3339 (2026-11-27T14:05:00Z) or Unix seconds (milliseconds
        /// allowed). Default: now.
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        /// Analysis window ending at --at: conditions must be sustained within it, e.g. 10m, 1h.
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        window: Duration,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = format_parser())]
        format: Format,
        /// Override a threshold: CHECK:LEVEL=VALUE, e.g. cpu.utilization:warning=70. Repeatable.
        #[arg(long = "threshold", value_name = "CHECK:LEVEL=VALUE")]
        thresholds: Vec<String>,
        /// Exit with status 3 when a finding is at least this severe.
        #[arg(long, value_parser = parse_severity)]
        fail_on: Option<Severity>,
        /// After the report, print what the analysis cost to stderr: queries, wall time, the
        /// Prometheus time they added up to, and this process's peak memory.
        #[arg(long)]
        stats: bool,
        /// Methodologies to run: a comma-separated list of use, workload, drilldown, latency,
        /// outliers (or all). Latency always compares disk await and run-queue latency with
        /// their baseline; add --histogram for an application's latency.
        #[arg(long, default_value = "all", value_parser = parse_methods, value_name = "LIST")]
        methods: MethodList,
        /// A Prometheus histogram to analyse (p50/p95/p99 with error bounds, trend,
        /// distribution, mean), e.g. 'http_request_duration_seconds{job="api"}'.
        #[arg(long, value_name = "METRIC", value_parser = parse_histogram)]
        histogram: Option<HistogramRequest>,
        /// Latency objective for --histogram: THRESHOLD@TARGET, e.g. 0.25@99 or 250ms@99.9.
        #[arg(long, value_parser = parse_slo, requires = "histogram", value_name = "SLO")]
        slo: Option<Slo>,
        /// The label grouping hosts into peers for outlier detection.
        #[arg(long, default_value = "job", value_parser = parse_group, value_name = "LABEL")]
        group_by: String,
        /// Samples one check query may ask Prometheus to load: a larger query is sent in
        /// instance groups. Set it below the engine's limit (Prometheus --query.max-samples,
        /// VictoriaMetrics -search.maxSamplesPerQuery) when that is lower than the default.
        #[arg(long, default_value_t = gregg_insights::engine::DEFAULT_SAMPLE_BUDGET, value_parser = clap::value_parser!(u64).range(1..), value_name = "SAMPLES")]
        query_sample_budget: u64,
    },
    /// Read a Grafana dashboard: run its panels' queries over the range, judge each panel
    /// against its own thresholds, correlate panels and tie them to the USE Method.
    Dashboard(DashboardArgs),
    /// Write Prometheus recording and alerting rules generated from the catalog (for
    /// Prometheus, Thanos Ruler or vmalert); checks no rule can express are listed at the
    /// head of the file with why.
    Rules(RulesArgs),
    /// Serve the analyses to assistants and agents over the Model Context Protocol: stdio by
    /// default, streamable HTTP at http://ADDR/mcp with --listen.
    Mcp(McpArgs),
}

/// `mcp` options: `analyze`'s connection flags, where to listen, and Grafana for dashboards.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Connection options.
    #[command(flatten)]
    pub connection: Connection,
    /// Serve streamable HTTP on this address (e.g. 127.0.0.1:8765) instead of stdio.
    /// Any non-loopback address needs --listen-token-file.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// File holding the bearer token HTTP clients must send (Authorization: Bearer ...).
    #[arg(long, value_name = "FILE", requires = "listen")]
    pub listen_token_file: Option<PathBuf>,
    /// Grafana's root URL, for the analyze_dashboard tool.
    #[arg(long, env = "GREGG_GRAFANA_URL", value_name = "URL")]
    pub grafana: Option<Url>,
    /// File holding a Grafana service account token (Viewer role is enough).
    #[arg(long, value_name = "FILE", requires = "grafana")]
    pub grafana_token_file: Option<PathBuf>,
}

impl McpArgs {
    /// The server's configuration.
    pub fn config(&self) -> Result<gregg_insights::mcp::Config> {
        let grafana = match &self.grafana {
            None => None,
            Some(url) => {
                let token = self
                    .grafana_token_file
                    .as_ref()
                    .map(read_secret)
                    .transpose()?;
                let mut config = gregg_insights::grafana::GrafanaConfig::new(url.clone(), token);
                config.timeout = self.connection.timeout;
                Some(config)
            }
        };
        Ok(gregg_insights::mcp::Config {
            prometheus: self.connection.client_config()?,
            selector: self.connection.selector()?,
            grafana,
        })
    }

    /// The HTTP bearer token, if a file was given.
    pub fn listen_token(&self) -> Result<Option<Secret>> {
        self.listen_token_file.as_ref().map(read_secret).transpose()
    }
}

/// `dashboard` options.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Grafana's root URL.
    #[arg(long, env = "GREGG_GRAFANA_URL", value_name = "URL")]
    pub grafana: Url,
    /// File holding a Grafana service account token (Viewer role is enough).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The dashboard's uid.
    #[arg(long)]
    pub uid: String,
    /// Prometheus URL. Without it, queries go through Grafana's data source proxy to
    /// --datasource (default: the org's default Prometheus data source), with the token.
    #[arg(long, env = "GREGG_PROMETHEUS_URL", value_name = "URL")]
    pub prometheus: Option<Url>,
    /// File holding a bearer token for --prometheus.
    #[arg(long, value_name = "FILE", requires = "prometheus")]
    pub prometheus_token_file: Option<PathBuf>,
    /// Uid of the Prometheus data source to query through Grafana's proxy.
    #[arg(long, value_name = "UID", conflicts_with = "prometheus")]
    pub datasource: Option<String>,
    /// Start of the range: RFC 3339 or Unix seconds (default: --to minus --window).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,
    /// End of the range (default: now).
    #[arg(long, value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,
    /// Length of the range ending at --to, e.g. 1h.
    #[arg(long, default_value = "1h", value_parser = parse_duration, conflicts_with = "from")]
    pub window: Duration,
    /// A variable value: NAME=VALUE (repeat the name for several values).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Only this panel id (repeatable).
    #[arg(long = "panel", value_name = "ID")]
    pub panels: Vec<i64>,
    /// Output format.
    #[arg(long, default_value = "text", value_parser = format_parser())]
    pub format: Format,
    /// Exit with status 3 when a finding is at least this severe.
    #[arg(long, value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Deadline for each request, e.g. 30s.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
}

impl DashboardArgs {
    /// The range: --from (or --window before --to) to --to (or now).
    pub fn range(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        request::window::range(self.from, self.to, self.window, now)
    }

    /// The Grafana token, if a file was given.
    pub fn token(&self) -> Result<Option<Secret>> {
        self.token_file.as_ref().map(read_secret).transpose()
    }

    /// `--var` flags → values by name.
    pub fn variables(&self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for spec in &self.vars {
            let Some((name, value)) = spec.split_once('=') else {
                bail!("--var expects NAME=VALUE, got `{spec}`");
            };
            out.entry(name.trim().to_string())
                .or_default()
                .push(value.to_string());
        }
        Ok(out)
    }

    /// The Prometheus client configuration: --prometheus, or Grafana's proxy for `datasource`.
    pub fn prometheus_config(&self, datasource: Option<&str>) -> Result<ClientConfig> {
        let mut config = match (&self.prometheus, datasource) {
            (Some(url), _) => {
                let mut c = ClientConfig::new(url.clone());
                if let Some(file) = &self.prometheus_token_file {
                    c.auth = Auth::Bearer(read_secret(file)?);
                }
                c
            }
            (None, Some(uid)) => {
                let mut base = self.grafana.clone();
                let path = format!(
                    "{}/api/datasources/proxy/uid/{uid}/",
                    base.path().trim_end_matches('/')
                );
                base.set_path(&path);
                let mut c = ClientConfig::new(base);
                if let Some(token) = self.token()? {
                    c.auth = Auth::Bearer(token);
                }
                c
            }
            (None, None) => bail!(
                "no Prometheus: give --prometheus, or --datasource (a Prometheus data source uid in Grafana)"
            ),
        };
        config.timeout = self.timeout;
        Ok(config)
    }
}

/// `rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// `rate()` interval of the recorded signals. An analysis reads the recorded series when
    /// its own rate interval is this one: 4 scrapes (2m for 30 s scrapes, 1m for 15 s).
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub rate: Duration,
    /// How often the engine evaluates the rules.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub interval: Duration,
    /// Write the rules to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// How to reach Prometheus and which targets to analyse.
#[derive(Debug, Args)]
pub struct Connection {
    /// Prometheus URL, including any path prefix.
    #[arg(long, env = "GREGG_PROMETHEUS_URL", value_name = "URL")]
    pub prometheus: Url,
    /// Label matchers restricting the analysed targets, e.g. 'job="node"'.
    #[arg(long, default_value = "", value_name = "MATCHERS")]
    pub selector: String,
    /// Basic auth user (the password comes from --basic-auth-password-file).
    #[arg(long, value_name = "USER", requires = "basic_auth_password_file")]
    pub basic_auth_user: Option<String>,
    /// File holding the basic auth password.
    #[arg(long, value_name = "FILE", requires = "basic_auth_user")]
    pub basic_auth_password_file: Option<PathBuf>,
    /// File holding a bearer token.
    #[arg(long, value_name = "FILE", conflicts_with = "basic_auth_user")]
    pub bearer_token_file: Option<PathBuf>,
    /// PEM file with the CA certificate(s) to trust instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with --client-key).
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate. For testing only.
    #[arg(long)]
    pub tls_skip_verify: bool,
    /// Extra header whose value is read from a file: NAME=FILE. Repeatable.
    #[arg(long = "header-file", value_name = "NAME=FILE")]
    pub header_files: Vec<String>,
    /// Deadline for each Prometheus request, e.g. 30s.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Requests in flight to Prometheus at once.
    #[arg(long, default_value_t = DEFAULT_MAX_CONCURRENT_REQUESTS)]
    pub max_concurrent_queries: usize,
}

/// `health --format`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HealthFormat {
    /// One paragraph.
    Text,
    /// The full health report as JSON.
    Json,
}

/// `--format` of `analyze` and `dashboard`: the report formats by name (help lists them),
/// parsed by the request module like the resources' `format`.
fn format_parser() -> impl TypedValueParser<Value = Format> {
    let names = FORMATS
        .iter()
        .map(|(_, names)| PossibleValue::new(names[0]).aliases(names[1..].iter().copied()));
    PossibleValuesParser::new(names).try_map(|name| request::parse_format(&name))
}

impl Connection {
    /// The client configuration these options describe.
    pub fn client_config(&self) -> Result<ClientConfig> {
        let mut config = ClientConfig::new(self.prometheus.clone());
        config.timeout = self.timeout;
        config.max_concurrent_requests = self.max_concurrent_queries.max(1);
        config.auth = match (
            &self.basic_auth_user,
            &self.basic_auth_password_file,
            &self.bearer_token_file,
        ) {
            (Some(user), Some(file), _) => Auth::Basic {
                user: user.clone(),
                password: read_secret(file)?,
            },
            (_, _, Some(file)) => Auth::Bearer(read_secret(file)?),
            _ => Auth::None,
        };
        config.tls.skip_verify = self.tls_skip_verify;
        if let Some(path) = &self.ca_cert {
            config.tls.ca_cert_pem =
                Some(std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the CA certificate {}", path.display())
                })?);
        }
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            config.tls.client_cert_pem =
                Some(std::fs::read_to_string(cert).with_context(|| {
                    format!("cannot read the client certificate {}", cert.display())
                })?);
            config.tls.client_key_pem = Some(read_secret(key)?);
        }
        for spec in &self.header_files {
            let Some((name, file)) = spec.split_once('=') else {
                bail!("--header-file expects NAME=FILE, got `{spec}`");
            };
            config
                .headers
                .push((name.trim().to_string(), read_secret(&PathBuf::from(file))?));
        }
        Ok(config)
    }

    /// The parsed target selector.
    pub fn selector(&self) -> Result<Selector> {
        Selector::parse(&self.selector).context("--selector")
    }
}

/// Read a secret from a file, without its trailing newline. Errors name the file, never the
/// content.
fn read_secret(path: &PathBuf) -> Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the secret file {}", path.display()))?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

/// `CHECK:LEVEL=VALUE` flags → overrides.
pub fn threshold_overrides(specs: &[String]) -> Result<ThresholdOverrides> {
    let mut overrides = ThresholdOverrides::new();
    for spec in specs {
        let parsed = spec.split_once(':').and_then(|(check, rest)| {
            let (level, value) = rest.split_once('=')?;
            Some((
                check.trim(),
                level.trim(),
                value.trim().parse::<f64>().ok()?,
            ))
        });
        let Some((check, level, value)) = parsed else {
            bail!("--threshold expects CHECK:LEVEL=VALUE (e.g. cpu.utilization:warning=70), got `{spec}`");
        };
        let entry: &mut ThresholdOverride = overrides.entry(check.to_string()).or_default();
        match level {
            "warning" => entry.warning = Some(value),
            "critical" => entry.critical = Some(value),
            other => bail!("--threshold level must be warning or critical, got `{other}`"),
        }
    }
    Ok(overrides)
}

/// `--methods`: one value holding the whole list (clap would treat a `Vec` as repeated flags).
#[derive(Clone, Debug)]
pub struct MethodList(pub Vec<Method>);

fn parse_methods(text: &str) -> Result<MethodList, gregg_insights::methods::MethodError> {
    request::methods::method_list(text).map(MethodList)
}

/// `--methods`, `--histogram`, `--slo`, `--group-by` → what the methods beyond USE do.
pub fn methods_request(
    methods: MethodList,
    histogram: Option<HistogramRequest>,
    slo: Option<Slo>,
    group_by: String,
) -> MethodsRequest {
    request::methods::assemble(methods.0, histogram, slo, Some(group_by))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_through_the_request_module() {
        let cli = Cli::try_parse_from([
            "gregg-insights",
            "analyze",
            "--prometheus",
            "http://p:9090",
            "--at",
            "1795788300.5",
            "--format",
            "md",
            "--window",
            "10s",
        ])
        .unwrap();
        let Command::Analyze {
            at, format, window, ..
        } = cli.command
        else {
            panic!("not analyze");
        };
        assert_eq!(at.map(|t| t.timestamp_millis()), Some(1_795_788_300_500));
        assert_eq!(format, Format::Markdown);
        assert_eq!(window, Duration::from_secs(10));
        let err = Cli::try_parse_from([
            "gregg-insights",
            "analyze",
            "--prometheus",
            "http://p:9090",
            "--at=-5",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("before 1970"), "{err}");
        let err = Cli::try_parse_from([
            "gregg-insights",
            "analyze",
            "--prometheus",
            "http://p:9090",
            "--format",
            "pdf",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("[possible values: text, markdown, json]"),
            "{err}"
        );
    }

    #[test]
    fn threshold_flags() {
        let o = threshold_overrides(&[
            "cpu.utilization:warning=70".into(),
            "cpu.utilization:critical=90.5".into(),
        ])
        .unwrap();
        assert_eq!(o["cpu.utilization"].warning, Some(70.0));
        assert_eq!(o["cpu.utilization"].critical, Some(90.5));
        assert!(threshold_overrides(&["cpu.utilization=70".into()]).is_err());
        assert!(threshold_overrides(&["cpu.utilization:major=70".into()]).is_err());
    }
}
