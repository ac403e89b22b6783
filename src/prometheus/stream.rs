//! Streaming decode of vector and matrix answers: each series is handed to a callback as soon as
//! it is parsed, so memory stays at one series however large the answer.
//!
//! A range query over 10,000 hosts with a few devices each is tens of MB of JSON; buffering it,
//! then building every series, would cost several times that. Here the body flows through a
//! bounded channel into a blocking parser thread (`serde_json` reads from `std::io::Read`).

use std::{fmt, io::Read};

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio::sync::mpsc;

use super::response::{HistogramPoint, Labels, Point, Series};

/// Everything of an answer except the series, which went to the callback.
#[derive(Debug, Default)]
pub(crate) struct Envelope {
    pub status: String,
    pub error_type: Option<String>,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
    pub saw_data: bool,
    pub series: usize,
}

/// The most of an answer's body handed to the parser at once.
pub(crate) const PIECE: usize = 16 * 1024;

/// Hand a body chunk to the parser as copies of at most [`PIECE`] bytes; false once the parser
/// has stopped reading.
///
/// A chunk from hyper is a slice of its connection's read buffer, which grows to about 400 KiB
/// on a fast link. While any slice of it lives, hyper cannot reuse the buffer and allocates
/// another: the chunks queued for the parser and the one it was reading each pinned a whole
/// buffer, four or so per request in flight (hyper's buffers were the largest holder of the
/// CLI's heap at 10,000 hosts). Copied out, the chunk is dropped at once and hyper reads the
/// next one into the same buffer.
pub(crate) async fn forward(tx: &mpsc::Sender<Bytes>, chunk: Bytes) -> bool {
    let pieces: Vec<Bytes> = chunk.chunks(PIECE).map(Bytes::copy_from_slice).collect();
    drop(chunk);
    for piece in pieces {
        if tx.send(piece).await.is_err() {
            return false;
        }
    }
    true
}

/// A `Read` over body chunks arriving through a channel; EOF when the sender is dropped.
pub(crate) struct ChunkReader {
    chunks: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl ChunkReader {
    pub fn new(chunks: mpsc::Receiver<Bytes>) -> Self {
        Self {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Parse an API answer from `reader`, calling `on_series` for every series of a vector or
/// matrix result (a vector sample is a series with one point).
pub(crate) fn parse<R: Read, A, F: FnMut(&mut A, Series)>(
    reader: R,
    acc: &mut A,
    on_series: &mut F,
) -> Result<Envelope, serde_json::Error> {
    let mut de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(64 * 1024, reader));
    let envelope = EnvelopeSeed { acc, on_series }.deserialize(&mut de)?;
    de.end()?;
    Ok(envelope)
}

struct EnvelopeSeed<'a, A, F> {
    acc: &'a mut A,
    on_series: &'a mut F,
}

impl<'de, A, F: FnMut(&mut A, Series)> DeserializeSeed<'de> for EnvelopeSeed<'_, A, F> {
    type Value = Envelope;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, A, F: FnMut(&mut A, Series)> Visitor<'de> for EnvelopeSeed<'_, A, F> {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Prometheus API answer")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Envelope, M::Error> {
        let mut envelope = Envelope::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "status" => envelope.status = map.next_value()?,
                "errorType" => envelope.error_type = map.next_value()?,
                "error" => envelope.error = map.next_value()?,
                "warnings" => {
                    let more: Option<Vec<String>> = map.next_value()?;
                    envelope.warnings.extend(more.unwrap_or_default());
                }
                "infos" => {
                    let more: Option<Vec<String>> = map.next_value()?;
                    envelope.infos.extend(more.unwrap_or_default());
                }
                "data" => {
                    envelope.saw_data = true;
                    envelope.series = map.next_value_seed(DataSeed {
                        acc: &mut *self.acc,
                        on_series: &mut *self.on_series,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}

struct DataSeed<'a, A, F> {
    acc: &'a mut A,
    on_series: &'a mut F,
}

impl<'de, A, F: FnMut(&mut A, Series)> DeserializeSeed<'de> for DataSeed<'_, A, F> {
    type Value = usize;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, A, F: FnMut(&mut A, Series)> Visitor<'de> for DataSeed<'_, A, F> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `data` object with `resultType` and `result`")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<usize, M::Error> {
        let mut count = 0;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "resultType" => {
                    let kind: String = map.next_value()?;
                    if kind != "vector" && kind != "matrix" {
                        return Err(de::Error::custom(format!(
                            "expected a vector or matrix result, got {kind}"
                        )));
                    }
                }
                "result" => {
                    count += map.next_value_seed(ResultSeed {
                        acc: &mut *self.acc,
                        on_series: &mut *self.on_series,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(count)
    }
}

struct ResultSeed<'a, A, F> {
    acc: &'a mut A,
    on_series: &'a mut F,
}

impl<'de, A, F: FnMut(&mut A, Series)> DeserializeSeed<'de> for ResultSeed<'_, A, F> {
    type Value = usize;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, A, F: FnMut(&mut A, Series)> Visitor<'de> for ResultSeed<'_, A, F> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of series")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<usize, S::Error> {
        let mut count = 0;
        while let Some(element) = seq.next_element::<Element>()? {
            (self.on_series)(self.acc, element.into_series());
            count += 1;
        }
        Ok(count)
    }
}

/// One element of a vector (`value`/`histogram`) or matrix (`values`/`histograms`) result.
#[derive(serde::Deserialize)]
struct Element {
    #[serde(default)]
    metric: Labels,
    value: Option<Point>,
    histogram: Option<HistogramPoint>,
    #[serde(default)]
    values: Vec<Point>,
    #[serde(default)]
    histograms: Vec<HistogramPoint>,
}

impl Element {
    fn into_series(self) -> Series {
        let mut points: Vec<(f64, f64)> = self.values.into_iter().map(Point::pair).collect();
        points.extend(self.histograms.into_iter().map(HistogramPoint::pair));
        points.extend(self.value.map(Point::pair));
        points.extend(self.histogram.map(HistogramPoint::pair));
        if points.windows(2).any(|w| w[0].0 > w[1].0) {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        Series {
            labels: self.metric,
            points,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(json: &str) -> (Envelope, Vec<Series>) {
        let mut series = Vec::new();
        let envelope = parse(
            json.as_bytes(),
            &mut series,
            &mut |acc: &mut Vec<Series>, s| acc.push(s),
        )
        .unwrap();
        (envelope, series)
    }

    #[test]
    fn vectors_and_matrices_stream_as_series() {
        let (env, series) = collect(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{"instance":"a"},"values":[[1,"1"],[2,"2"]]},
                {"metric":{"instance":"b"},"values":[[1,"NaN"]]}]},"warnings":["w"]}"#,
        );
        assert_eq!(env.status, "success");
        assert_eq!(env.series, 2);
        assert_eq!(env.warnings, vec!["w".to_string()]);
        assert_eq!(series[0].labels["instance"], "a");
        assert_eq!(series[0].points, vec![(1.0, 1.0), (2.0, 2.0)]);
        assert!(series[1].points[0].1.is_nan());

        let (_, vector) = collect(
            r#"{"data":{"result":[{"metric":{},"value":[5,"+Inf"]}],"resultType":"vector"},"status":"success"}"#,
        );
        assert_eq!(vector[0].points, vec![(5.0, f64::INFINITY)]);
    }

    #[tokio::test]
    async fn chunks_reach_the_parser_whole_in_small_copies() {
        let body: Vec<u8> = (0..PIECE * 3 + 5).map(|i| (i % 251) as u8).collect();
        let chunk = Bytes::from(body.clone());
        let (tx, mut rx) = mpsc::channel(8);
        assert!(forward(&tx, chunk.clone()).await);
        drop(tx);
        let mut pieces = Vec::new();
        while let Some(piece) = rx.recv().await {
            pieces.push(piece);
        }
        assert_eq!(pieces.len(), 4);
        assert!(pieces.iter().all(|p| p.len() <= PIECE));
        // Copies, not slices of the chunk: holding them pins none of its buffer.
        let chunk_range = chunk.as_ptr() as usize..chunk.as_ptr() as usize + chunk.len();
        assert!(pieces
            .iter()
            .all(|p| !chunk_range.contains(&(p.as_ptr() as usize))));
        assert_eq!(pieces.concat(), body);

        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        assert!(!forward(&tx, Bytes::from_static(b"{}")).await);
    }

    #[test]
    fn scalars_and_garbage_are_errors() {
        let mut acc = ();
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#;
        assert!(parse(scalar.as_bytes(), &mut acc, &mut |_: &mut (), _| {}).is_err());
        assert!(parse(&b"{\"status\":"[..], &mut acc, &mut |_: &mut (), _| {}).is_err());
        assert!(parse(&b"{} trailing"[..], &mut acc, &mut |_: &mut (), _| {}).is_err());
    }

    #[test]
    fn errors_keep_their_type_and_message() {
        let (env, series) =
            collect(r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#);
        assert_eq!(env.status, "error");
        assert_eq!(env.error_type.as_deref(), Some("bad_data"));
        assert!(!env.saw_data && series.is_empty());
    }
}
