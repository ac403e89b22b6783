//! The client's answer decoders over a byte slice, without a server.
//!
//! Everything Prometheus (or whatever answers in its place) sends is hostile input. The fuzzer
//! (`fuzz/`, target `prometheus_response`) drives these entry points, which run exactly the
//! code the client runs on a received body: the typed envelope of instant queries, the
//! streaming series parser of range queries and large vectors, and the error envelope of
//! non-2xx answers. None may panic, whatever the bytes.

use super::{
    response::{Envelope, ErrorEnvelope, RawInstant},
    stream, InstantValue,
};

/// What a streamed answer held: its status and how many series reached the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streamed {
    /// The envelope's `status`.
    pub status: String,
    /// Series handed to the callback.
    pub series: usize,
    /// Points across those series.
    pub points: usize,
}

/// Decode an instant-query answer as [`super::Client::query`] does.
pub fn instant(body: &[u8]) -> Result<InstantValue, String> {
    let envelope: Envelope<RawInstant> =
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON ({e})"))?;
    if envelope.status != "success" {
        return Err(envelope.error.unwrap_or_else(|| "no message".to_string()));
    }
    envelope
        .data
        .map(InstantValue::from)
        .ok_or_else(|| "the answer has no `data`".to_string())
}

/// Decode a vector or matrix answer with the streaming parser range queries use.
pub fn streamed(body: &[u8]) -> Result<Streamed, String> {
    let mut points = 0usize;
    let mut count = 0usize;
    let envelope = stream::parse(
        body,
        &mut points,
        &mut |points: &mut usize, series: super::Series| {
            *points += series.points.len();
            count += 1;
        },
    )
    .map_err(|e| format!("invalid JSON ({e})"))?;
    Ok(Streamed {
        status: envelope.status,
        series: count,
        points,
    })
}

/// The message of an error answer (`{"status":"error","errorType":…,"error":…}`), if any.
pub fn error_message(body: &[u8]) -> Option<(Option<String>, String)> {
    let parsed: ErrorEnvelope = serde_json::from_slice(body).ok()?;
    parsed.error.map(|message| (parsed.error_type, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_decoders_agree_with_the_client() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"a"},"value":[1,"2"]}]}}"#;
        assert!(matches!(instant(body), Ok(InstantValue::Vector(v)) if v.len() == 1));
        assert_eq!(
            streamed(body),
            Ok(Streamed {
                status: "success".into(),
                series: 1,
                points: 1
            })
        );
        let error = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(instant(error), Err("parse error".to_string()));
        assert_eq!(
            error_message(error),
            Some((Some("bad_data".into()), "parse error".into()))
        );
        assert!(instant(b"{\"status\":").is_err());
        assert!(streamed(b"[]").is_err());
    }
}
