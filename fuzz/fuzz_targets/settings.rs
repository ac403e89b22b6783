//! Data source settings: the URL, switches, jsonData and secureJsonData Grafana sends. Any
//! JSON must give settings or a field-naming error (never a panic), the Prometheus client
//! must build or fail cleanly (PEM certificates and keys come from here too), and no secret
//! may show in `Debug` output or any error.
#![no_main]

use std::collections::BTreeMap;

use gregg_insights::{
    prometheus::Client,
    settings::{InstanceSettings, Settings},
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const CANARY: &str = "fuzz-canary-secret-7f3a";

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let text = |key: &str| input.get(key).and_then(Value::as_str).unwrap_or("");
    let url = match input.get("url") {
        Some(Value::String(u)) => u.clone(),
        _ => "http://127.0.0.1:9090".to_string(),
    };
    let json_data = input.get("jsonData").cloned().unwrap_or(Value::Null);
    let mut secure: BTreeMap<String, String> = BTreeMap::new();
    if let Some(Value::Object(map)) = input.get("secureJsonData") {
        for (k, v) in map {
            if let Value::String(s) = v {
                secure.insert(k.clone(), s.clone());
            }
        }
    }
    // Secrets the input did not set get a canary, which must never be shown.
    for key in [
        "basicAuthPassword",
        "bearerToken",
        "httpHeaderValue1",
        "httpHeaderValue2",
        "tlsClientKey",
    ] {
        secure
            .entry(key.to_string())
            .or_insert_with(|| CANARY.to_string());
    }
    let instance = InstanceSettings {
        uid: "fuzz",
        name: "fuzz",
        url: &url,
        basic_auth_enabled: input
            .get("basicAuth")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        basic_auth_user: text("basicAuthUser"),
        json_data: &json_data,
        secure_json_data: &secure,
    };
    // The canary is only meaningful where the input cannot have written it itself.
    let check = !String::from_utf8_lossy(data).contains("canary");
    let assert_hidden = |what: &str, shown: String| {
        if check {
            assert!(!shown.contains(CANARY), "secret in {what}: {shown}");
        }
    };
    match Settings::from_grafana(&instance) {
        Ok(settings) => {
            assert_hidden("Debug of the settings", format!("{settings:?}"));
            match Client::new(&settings.client, None) {
                Ok(client) => assert_hidden("Debug of the client", format!("{client:?}")),
                Err(e) => {
                    assert_hidden("a client error", e.to_string());
                    assert_hidden("Debug of a client error", format!("{e:?}"));
                }
            }
        }
        Err(e) => {
            assert_hidden("a settings error", e.to_string());
            assert_hidden("Debug of a settings error", format!("{e:?}"));
        }
    }
});
