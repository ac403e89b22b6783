//! The Prometheus client against a real Prometheus (answers) and a broken server (faults).

use std::time::{Duration, Instant};

use gregg_insights::{
    prometheus::{ApiErrorKind, Auth, InstantValue, PrometheusError, QueryRange},
    secret::Secret,
};
use gregg_testkit::{
    faults::{Fault, FaultServer},
    scenarios,
};

use crate::support::{at, block_on, client, client_with, dead_url, serve};

#[test]
fn instant_range_series_labels_and_build_info_come_from_real_prometheus() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    let at = at(&scenario);
    block_on(async {
        let counts = c
            .query(
                r#"count by (instance) (node_cpu_seconds_total{mode="idle"})"#,
                at,
            )
            .await
            .expect("instant query")
            .data
            .into_vector();
        assert_eq!(counts.len(), scenario.hosts.len());
        for host in &scenario.hosts {
            let sample = counts
                .iter()
                .find(|s| s.labels["instance"] == host.instance)
                .expect("every host answers");
            assert_eq!(sample.value, f64::from(host.cpus));
            assert_eq!(sample.timestamp, scenario.at as f64);
        }

        let range = QueryRange {
            start: at - chrono::Duration::minutes(10),
            end: at,
            step: Duration::from_secs(60),
        };
        let series = c
            .query_range(
                r#"sum by (instance) (rate(node_cpu_seconds_total{mode="user"}[2m]))"#,
                &range,
            )
            .await
            .expect("range query")
            .data;
        assert_eq!(series.len(), scenario.hosts.len());
        for s in &series {
            let host = scenario
                .hosts
                .iter()
                .find(|h| h.instance == s.labels["instance"])
                .expect("known host");
            assert_eq!(s.points.len(), 11, "10 minutes at a 60 s step");
            for (_, v) in &s.points {
                let expected = host.cpu.user.base * f64::from(host.cpus);
                assert!((v - expected).abs() < 1e-3, "{v} vs {expected}");
            }
        }

        let labels = c
            .series(&["node_exporter_build_info".to_string()], range.start, at)
            .await
            .expect("series")
            .data;
        assert_eq!(labels.len(), scenario.hosts.len());
        assert!(labels.iter().all(|l| l["version"] == "1.5.0"));

        let mut expected: Vec<String> = scenario.hosts.iter().map(|h| h.instance.clone()).collect();
        expected.sort();
        let mut values = c
            .label_values("instance", &[], range.start, at)
            .await
            .expect("label values")
            .data;
        values.sort();
        assert_eq!(values, expected);

        let info = c.build_info().await.expect("build info");
        assert!(
            info.version.starts_with(|ch: char| ch.is_ascii_digit()),
            "{info:?}"
        );

        // A range selector returns raw samples: one every 15 s (50 s avoids the boundary sample
        // whose inclusion changed between Prometheus 2 and 3).
        let raw = c
            .query(
                r#"node_exporter_build_info{instance="busy-1:9100"}[50s]"#,
                at,
            )
            .await
            .expect("range selector")
            .data;
        let InstantValue::Matrix(raw) = raw else {
            panic!("a range selector answers a matrix")
        };
        assert_eq!(raw[0].points.len(), 4);
    });
}

#[test]
fn prometheus_rejections_keep_prometheus_message_and_type() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let c = client(&prometheus.url());
    block_on(async {
        match c.query("sum(", at(&scenario)).await {
            Err(PrometheusError::Api {
                kind: ApiErrorKind::BadData,
                message,
            }) => assert!(message.contains("parse error"), "{message}"),
            other => panic!("expected bad_data, got {other:?}"),
        }
        // Many-to-many matching fails while evaluating: an `execution` error (HTTP 422).
        match c
            .query(
                "node_cpu_seconds_total + on(instance) node_cpu_seconds_total",
                at(&scenario),
            )
            .await
        {
            Err(
                e @ PrometheusError::Api {
                    kind: ApiErrorKind::Execution,
                    ..
                },
            ) => assert!(e.is_query_error()),
            other => panic!("expected an execution error, got {other:?}"),
        }
    });
}

#[test]
fn response_size_limit_is_enforced_on_real_answers() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let c = client_with(&prometheus.url(), |cfg| cfg.max_response_bytes = 2048);
    block_on(async {
        // 40 series of raw samples: far more than 2 KiB.
        match c.query("node_cpu_seconds_total[5m]", at(&scenario)).await {
            Err(PrometheusError::TooLarge { .. }) => {}
            other => panic!("expected TooLarge, got {other:?}"),
        }
        // A small answer still fits.
        assert!(c.query("vector(1)", at(&scenario)).await.is_ok());
    });
}

#[test]
fn connection_failures_are_classified() {
    block_on(async {
        let dead = dead_url();
        match client(&dead).query("up", chrono::Utc::now()).await {
            Err(e @ PrometheusError::Unreachable { .. }) => {
                let text = e.to_string();
                assert!(text.contains(&dead) && text.contains("refused"), "{text}");
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
        match client("http://gregg-insights-test.invalid:9090")
            .query("up", chrono::Utc::now())
            .await
        {
            Err(e @ PrometheusError::UnknownHost { .. }) => {
                assert!(e.to_string().contains("resolve"), "{e}")
            }
            other => panic!("expected UnknownHost, got {other:?}"),
        }
    });
}

#[test]
fn https_to_a_plain_http_server_is_a_tls_error_with_a_hint() {
    let scenario = scenarios::cpu_mixed();
    let prometheus = serve(&scenario);
    let url = prometheus.url().replace("http://", "https://");
    block_on(async {
        match client(&url).query("up", chrono::Utc::now()).await {
            Err(e @ PrometheusError::Tls { .. }) => {
                assert!(e.to_string().contains("http://"), "{e}")
            }
            other => panic!("expected a TLS error, got {other:?}"),
        }
    });
}

#[test]
fn slow_and_trickling_servers_time_out_on_schedule() {
    for fault in [Fault::Hang, Fault::Trickle] {
        let server = FaultServer::start(fault.clone());
        let c = client_with(&server.url(), |cfg| {
            cfg.timeout = Duration::from_millis(800)
        });
        let started = Instant::now();
        let result = block_on(c.query("up", chrono::Utc::now()));
        let elapsed = started.elapsed();
        assert!(
            matches!(result, Err(PrometheusError::Timeout { .. })),
            "{fault:?}: {result:?}"
        );
        assert!(
            elapsed < Duration::from_secs(3),
            "{fault:?} took {elapsed:?}"
        );
    }
}

#[test]
fn a_request_given_up_on_closes_its_connection() {
    // The client keeps running (as the plugin does) after a timeout: the abandoned request's
    // connection must be closed, or Prometheus keeps evaluating and every timeout leaks a
    // socket. Instant, range and build-info requests all take this path.
    let server = FaultServer::start(Fault::Hang);
    let c = client_with(&server.url(), |cfg| {
        cfg.timeout = Duration::from_millis(500)
    });
    let hung_up = block_on(async {
        let now = chrono::Utc::now();
        let range = gregg_insights::prometheus::QueryRange {
            start: now - chrono::Duration::minutes(5),
            end: now,
            step: Duration::from_secs(15),
        };
        let (a, b, d) = tokio::join!(
            c.query("up", now),
            c.query_range("up", &range),
            c.build_info()
        );
        assert!(matches!(a, Err(PrometheusError::Timeout { .. })), "{a:?}");
        assert!(matches!(b, Err(PrometheusError::Timeout { .. })), "{b:?}");
        assert!(matches!(d, Err(PrometheusError::Timeout { .. })), "{d:?}");
        // The client is still alive here; only the abandoned requests may go.
        let deadline = Instant::now() + Duration::from_secs(3);
        while server.hung_up() < 3 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let hung_up = server.hung_up();
        drop(c);
        hung_up
    });
    assert_eq!(
        hung_up, 3,
        "connections still open after their requests timed out"
    );
}

#[test]
fn http_failures_are_typed_and_actionable() {
    let cases: Vec<(Fault, &str, &str)> = vec![
        (
            Fault::json(401, r#"{"error":"unauthorized"}"#),
            "auth",
            "HTTP 401",
        ),
        (
            Fault::Respond {
                status: 403,
                content_type: "text/plain".into(),
                body: b"forbidden".to_vec(),
            },
            "auth",
            "HTTP 403",
        ),
        (
            Fault::Respond {
                status: 404,
                content_type: "text/plain".into(),
                body: b"404 page not found".to_vec(),
            },
            "not_found",
            "path prefix",
        ),
        (
            Fault::prometheus_error(503, "unavailable", "TSDB not ready"),
            "api",
            "TSDB not ready",
        ),
        (
            Fault::Respond {
                status: 502,
                content_type: "text/html".into(),
                body: b"<html><body>Bad Gateway</body></html>".to_vec(),
            },
            "http_status",
            "HTTP 502",
        ),
        (Fault::json(200, "{not json"), "malformed", "invalid JSON"),
        (
            Fault::Respond {
                status: 200,
                content_type: "text/html".into(),
                body: b"<html>login</html>".to_vec(),
            },
            "malformed",
            "content type",
        ),
        (
            Fault::json(200, r#"{"status":"success"}"#),
            "malformed",
            "no `data`",
        ),
        (Fault::Truncated, "malformed", "broke"),
        (Fault::Close, "unreachable", ""),
        (Fault::Endless, "too_large", "MiB response limit"),
    ];
    for (fault, kind, text) in cases {
        let server = FaultServer::start(fault.clone());
        let c = client_with(&server.url(), |cfg| {
            cfg.max_response_bytes = 1024 * 1024;
            cfg.timeout = Duration::from_secs(10);
            cfg.auth = Auth::Basic {
                user: "alice".into(),
                password: Secret::new("pw-SECRET"),
            };
            cfg.headers = vec![("X-Scope-OrgID".into(), Secret::new("hdr-SECRET"))];
        });
        let err = block_on(c.query("up", chrono::Utc::now())).expect_err("a fault is an error");
        let message = err.to_string();
        assert_eq!(err.kind(), kind, "{fault:?}: {message}");
        assert!(message.contains(text), "{fault:?}: {message}");
        assert!(!message.contains("SECRET"), "{message}");
        assert!(!format!("{err:?}").contains("SECRET"));
    }
}

#[test]
fn credentials_and_headers_are_sent_and_queries_are_posted() {
    let server = FaultServer::start(Fault::json(
        200,
        r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
    ));
    let c = client_with(&server.url(), |cfg| {
        cfg.auth = Auth::Bearer(Secret::new("tok-123"));
        cfg.headers = vec![("X-Scope-OrgID".into(), Secret::new("tenant-a"))];
    });
    block_on(c.query("up{job=\"node\"}", chrono::Utc::now())).expect("empty vector");
    let request = server.last_request();
    assert!(request.starts_with("POST /api/v1/query "), "{request}");
    let lower = request.to_ascii_lowercase();
    assert!(lower.contains("authorization: bearer tok-123"), "{request}");
    assert!(lower.contains("x-scope-orgid: tenant-a"), "{request}");
    assert!(
        request.contains("query=up%7Bjob%3D%22node%22%7D"),
        "{request}"
    );
}

#[test]
fn concurrent_requests_never_exceed_the_bound() {
    let server = FaultServer::start(Fault::Hang);
    let c = client_with(&server.url(), |cfg| {
        cfg.max_concurrent_requests = 2;
        cfg.timeout = Duration::from_millis(700);
    });
    let started = std::time::Instant::now();
    let results = block_on(async {
        let calls = (0..6).map(|_| c.query("up", chrono::Utc::now()));
        futures_util::future::join_all(calls).await
    });
    assert!(results
        .iter()
        .all(|r| matches!(r, Err(PrometheusError::Timeout { .. }))));
    // Waiting for a slot does not count against the timeout (issue 16): every request reached
    // the server and hung there for its own 700 ms, two at a time, so three waves.
    assert_eq!(server.connections(), 6, "every request was sent");
    assert!(
        started.elapsed() >= Duration::from_millis(3 * 700 - 50),
        "only two requests may reach the server at once: all six ended after {:?}",
        started.elapsed()
    );
}
