//! Prometheus answers (or whatever answers in Prometheus' place): any bytes through the
//! client's decoders — the typed instant-query envelope, the streaming series parser and the
//! error envelope. None may panic; a streamed answer's series are counted consistently.
#![no_main]

use gregg_insights::prometheus::{decode, InstantValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let instant = decode::instant(data);
    let streamed = decode::streamed(data);
    let _ = decode::error_message(data);
    if let (Ok(InstantValue::Matrix(series)), Ok(streamed)) = (&instant, &streamed) {
        // Both parsers accepted a matrix: they must see the same series and points.
        let points: usize = series.iter().map(|s| s.points.len()).sum();
        assert_eq!(streamed.series, series.len(), "series count differs");
        assert_eq!(streamed.points, points, "point count differs");
    }
});
