//! `gregg-insights`: the analyzer without Grafana.
//!
//! Parses arguments, builds the same client and catalog configuration the plugin builds from its
//! data source settings, calls the same engine, and prints a report. No PromQL or threshold
//! logic lives here.
//!
//! `mcp` serves the same analyses over the Model Context Protocol (`gregg_insights::mcp`).
//!
//! Exit status: 0 success; 1 Prometheus unusable or unhealthy; 2 bad arguments; 3 a finding at
//! or above `--fail-on`.

mod args;

use std::{io::Write, process::ExitCode};

use anyhow::{Context, Result};
use chrono::Utc;
use clap::Parser;
use gregg_insights::{
    analysis::{self, AnalysisRequest},
    catalog,
    dashboard::DashboardRequest,
    grafana::{Client as GrafanaClient, GrafanaConfig},
    health,
    prometheus::Client,
    report,
};

use args::{Cli, Command, HealthFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let catalog = catalog::builtin();
    match cli.command {
        Command::Health { connection, format } => {
            let client = Client::new(&connection.client_config()?, None)?;
            let report = health::check(&client, catalog, &connection.selector()?).await;
            match format {
                HealthFormat::Text => println!("{}: {}", status_word(&report), report.message),
                HealthFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report).context("encoding the report")?
                ),
            }
            Ok(match report.status {
                health::Status::Ok => ExitCode::SUCCESS,
                health::Status::Error => ExitCode::FAILURE,
            })
        }
        Command::Analyze {
            connection,
            at,
            window,
            format,
            thresholds,
            fail_on,
            stats,
            methods,
            histogram,
            slo,
            group_by,
            query_sample_budget,
        } => {
            let started = std::time::Instant::now();
            let client = Client::new(&connection.client_config()?, None)?;
            let mut request =
                AnalysisRequest::new(at.unwrap_or_else(Utc::now), window, connection.selector()?);
            request.thresholds = args::threshold_overrides(&thresholds)?;
            request.methods = args::methods_request(methods, histogram, slo, group_by);
            request.query_sample_budget = query_sample_budget;
            catalog
                .validate_overrides(&request.thresholds)
                .context("--threshold")?;
            let analysis = analysis::analyze(&client, catalog, &request).await?;
            print_report(&analysis, catalog, format)?;
            if stats {
                eprintln!("{}", cost(&analysis, client.fetched(), started.elapsed()));
            }
            let failing =
                fail_on.is_some_and(|min| analysis.insights.iter().any(|i| i.severity >= min));
            Ok(if failing {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Dashboard(args) => dashboard(args).await,
        Command::Rules(args) => rules(args, catalog),
        Command::Mcp(args) => {
            let config = args.config()?;
            match args.listen {
                Some(addr) => {
                    gregg_insights::mcp::serve_http(config, addr, args.listen_token()?).await?
                }
                None => gregg_insights::mcp::serve_stdio(config).await?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `rules`: the catalog's recording and alerting rules, to a file or standard output; what
/// was recorded and skipped to standard error.
fn rules(args: args::RulesArgs, catalog: &catalog::Catalog) -> Result<ExitCode> {
    let options = gregg_insights::rules::RuleOptions {
        rate: args.rate,
        interval: args.interval,
    };
    let file = gregg_insights::rules::generate(catalog, &options);
    match &args.output {
        Some(path) => std::fs::write(path, &file.yaml)
            .with_context(|| format!("writing the rules to {}", path.display()))?,
        None => print!("{}", file.yaml),
    }
    eprintln!(
        "rules: {} checks recorded, {} alerts; skipped {} (listed at the head of the file)",
        file.recorded,
        file.alerts,
        file.skipped.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `dashboard`: the same dashboard analysis the plugin's `dashboard` query runs.
async fn dashboard(args: args::DashboardArgs) -> Result<ExitCode> {
    let mut grafana_config = GrafanaConfig::new(args.grafana.clone(), args.token()?);
    grafana_config.timeout = args.timeout;
    let grafana = GrafanaClient::new(&grafana_config)?;
    let datasource = match (&args.prometheus, &args.datasource) {
        (Some(_), _) => None,
        (None, Some(uid)) => Some(uid.clone()),
        (None, None) => {
            let list = grafana.data_sources().await.context(
                "listing Grafana's data sources to find a Prometheus one (or give --prometheus)",
            )?;
            let prometheus: Vec<_> = list.iter().filter(|d| d.kind == "prometheus").collect();
            let chosen = prometheus
                .iter()
                .find(|d| d.is_default)
                .or(prometheus.first())
                .context("Grafana has no Prometheus data source; give --prometheus")?;
            Some(chosen.uid.clone())
        }
    };
    let client = Client::new(&args.prometheus_config(datasource.as_deref())?, None)?;
    let (from, to) = args.range(Utc::now());
    let mut request = DashboardRequest::new(&args.uid, from, to);
    request.variables = args.variables()?;
    if !args.panels.is_empty() {
        request.panel_ids = Some(args.panels.clone());
    }
    let result = gregg_insights::analysis::dashboard::analyze(&grafana, &client, &request).await?;
    print_report(&result.analysis, catalog::builtin(), args.format)?;
    let failing = args
        .fail_on
        .is_some_and(|min| result.analysis.insights.iter().any(|i| i.severity >= min));
    Ok(if failing {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The report on standard output, written as it is rendered (a JSON report of 10,000 hosts is
/// about 9 MiB: built in memory first it was the CLI's peak).
///
/// A reader that stops early (`gregg-insights analyze | head`) closes the pipe: that is its
/// choice, not a failure, so the rest of the report is dropped quietly and the exit code still
/// says what `--fail-on` found, as Unix filters do.
fn print_report(
    analysis: &analysis::Analysis,
    catalog: &catalog::Catalog,
    format: report::Format,
) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match report::write(analysis, catalog, format, &mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("writing the report to standard output"),
    }
}

/// One line on what the analysis cost, for `--stats`.
fn cost(
    analysis: &analysis::Analysis,
    fetched: gregg_insights::prometheus::Fetched,
    wall: std::time::Duration,
) -> String {
    let prometheus: f64 = analysis
        .queries
        .iter()
        .map(|q| q.duration.as_secs_f64())
        .sum();
    let peak = peak_rss_kib()
        .map(|kib| format!(", peak RSS {:.1} MiB", kib as f64 / 1024.0))
        .unwrap_or_default();
    let refused = analysis
        .queries
        .iter()
        .filter(|q| q.refused.is_some())
        .count();
    let grouped = analysis
        .queries
        .iter()
        .filter(|q| q.group.is_some())
        .count();
    format!(
        "stats: {} queries ({refused} refused for size, {grouped} sent in instance groups), {} insights, wall {:.2} s, query time summed {:.2} s, waited for slots {:.2} s summed, fetched {} samples in {:.1} MiB{peak}",
        analysis.queries.len(),
        analysis.insights.len(),
        wall.as_secs_f64(),
        prometheus,
        fetched.slot_wait.as_secs_f64(),
        fetched.samples,
        fetched.bytes as f64 / (1024.0 * 1024.0)
    )
}

/// This process's peak resident memory (Linux `VmHWM`). Unlike a parent's `wait4` figure, it
/// never includes the memory of the process that spawned us.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn status_word(report: &health::HealthReport) -> &'static str {
    match report.status {
        health::Status::Ok => "OK",
        health::Status::Error => "ERROR",
    }
}
