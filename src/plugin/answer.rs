//! QueryData's answer as the chunks of its gRPC message, the frames' bytes sent as they are.
//!
//! tonic sends a unary answer by encoding it with prost into one fresh `BytesMut` (8 KiB, grown
//! by doubling): for an `insights` query of 10,000 insights that copies the ~30 MiB Arrow IPC
//! file once more, and faults that many fresh pages in, 19.7 ms of the 63.1 ms answer
//! (`cargo bench --bench frames`, the `tonic` row). Here the `QueryDataResponse` is laid out
//! byte for byte as prost would write it, but as a list of chunks: the small pieces (the gRPC
//! header, map entry tags and lengths, refIds, the `frames` tags and lengths, error, json_meta
//! and status) are written into small buffers, and each frame's bytes are a chunk of their
//! own, moved from the `Vec<u8>` the frame was written into (`Bytes::from` takes the
//! allocation, no copy). The concatenated chunks equal `prost::Message::encode`'s output
//! (tested below); `grpc_data` hands them to hyper, and h2 slices each into DATA frames and
//! writes them with vectored I/O, not through its own buffer (`FramedWrite` chains payloads of
//! 256 bytes and more).

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};
use grafana_plugin_sdk::pluginv2;
use prost::{
    encoding::{self, WireType},
    Message,
};

/// Frames shorter than this are copied among the small pieces rather than sent as a chunk of
/// their own: a tiny chunk would cost hyper and h2 a DATA frame of its own for a few bytes.
const OWN_CHUNK_FROM: usize = 1024;

/// One refId's answer: its frames as shared bytes, and the rest of its `DataResponse`.
///
/// The response cache ([`super::responses`]) hands out clones: the frames are shared, not
/// copied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataAnswer {
    /// Arrow IPC files, one per frame.
    pub frames: Vec<Bytes>,
    /// The error, json_meta and status: the `DataResponse` without its frames.
    pub rest: pluginv2::DataResponse,
}

/// A QueryData answer: each refId's answer, in refId order so its bytes are deterministic.
pub type QueryAnswer = BTreeMap<String, DataAnswer>;

impl From<pluginv2::DataResponse> for DataAnswer {
    /// Takes the frames' allocations, trimmed to their bytes first: the frame writers reserve
    /// a little more than they write, `Bytes` keeps a `Vec`'s whole capacity alive, and the
    /// response cache counts only the bytes. Shrinking a buffer does not move it (glibc shrinks
    /// in place, or with `mremap` for a mapped one).
    fn from(mut response: pluginv2::DataResponse) -> Self {
        let frames = std::mem::take(&mut response.frames);
        Self {
            frames: frames
                .into_iter()
                .map(|mut frame| {
                    frame.shrink_to_fit();
                    Bytes::from(frame)
                })
                .collect(),
            rest: response,
        }
    }
}

impl DataAnswer {
    /// A failed query's answer: its HTTP-like status and error, no frames.
    pub fn failed(status: i32, error: String) -> Self {
        Self {
            frames: Vec::new(),
            rest: pluginv2::DataResponse {
                status,
                error,
                ..Default::default()
            },
        }
    }

    /// The frames' total size.
    pub fn frame_bytes(&self) -> usize {
        self.frames.iter().map(Bytes::len).sum()
    }

    /// The protobuf `DataResponse`, frames copied (for comparisons).
    pub fn to_proto(&self) -> pluginv2::DataResponse {
        pluginv2::DataResponse {
            frames: self.frames.iter().map(|f| f.to_vec()).collect(),
            ..self.rest.clone()
        }
    }

    /// The length of its `DataResponse` message body.
    fn encoded_len(&self) -> usize {
        // The frames are ours; frames left in `rest` would be sent but not counted here.
        debug_assert!(self.rest.frames.is_empty(), "frames belong in `frames`");
        let frames: usize = self.frames.iter().map(|f| field_len(1, f.len())).sum();
        frames + self.rest.encoded_len()
    }

    /// Whether prost leaves it out of its map entry (the message's default value).
    fn is_default(&self) -> bool {
        self.frames.is_empty() && self.rest == pluginv2::DataResponse::default()
    }
}

/// The answer could not be laid out as one gRPC message.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// Longer than a gRPC message's 32-bit length can say.
    #[error("the answer is {0} bytes, more than one gRPC message can carry (4 GiB); ask for fewer queries or a narrower filter")]
    TooLarge(usize),
    /// prost refused a piece (never with a growing buffer).
    #[error("could not encode the answer: {0}")]
    Encode(#[from] prost::EncodeError),
}

/// The gRPC message carrying `answer`, as chunks: the 5-byte header (not compressed, the
/// big-endian length), then the protobuf `QueryDataResponse`, its entries in refId order.
pub fn message_chunks(answer: &QueryAnswer) -> Result<Vec<Bytes>, AnswerError> {
    let len: usize = answer
        .iter()
        .map(|(ref_id, a)| field_len(1, entry_len(ref_id, a)))
        .sum();
    let header_len = u32::try_from(len).map_err(|_| AnswerError::TooLarge(len))?;
    let mut out = Chunks::default();
    out.small.put_u8(0);
    out.small.put_u32(header_len);
    for (ref_id, a) in answer {
        write_entry(ref_id, a, &mut out)?;
    }
    Ok(out.finish())
}

/// One map entry of `responses` (field 1), as prost's map encoding writes it: the key and the
/// value are left out when they are their defaults.
fn write_entry(ref_id: &str, a: &DataAnswer, out: &mut Chunks) -> Result<(), AnswerError> {
    encoding::encode_key(1, WireType::LengthDelimited, &mut out.small);
    encoding::encode_varint(entry_len(ref_id, a) as u64, &mut out.small);
    if !ref_id.is_empty() {
        // What `encoding::string::encode` writes, without cloning the refId into a `String`.
        encoding::encode_key(1, WireType::LengthDelimited, &mut out.small);
        encoding::encode_varint(ref_id.len() as u64, &mut out.small);
        out.small.put_slice(ref_id.as_bytes());
    }
    if a.is_default() {
        return Ok(());
    }
    encoding::encode_key(2, WireType::LengthDelimited, &mut out.small);
    encoding::encode_varint(a.encoded_len() as u64, &mut out.small);
    // `frames` is field 1 of `DataResponse`: prost writes it before the others.
    for frame in &a.frames {
        encoding::encode_key(1, WireType::LengthDelimited, &mut out.small);
        encoding::encode_varint(frame.len() as u64, &mut out.small);
        out.bytes(frame);
    }
    a.rest.encode(&mut out.small)?;
    Ok(())
}

/// The length of a map entry's body: its key (field 1) and value (field 2).
fn entry_len(ref_id: &str, a: &DataAnswer) -> usize {
    let key = if ref_id.is_empty() {
        0
    } else {
        field_len(1, ref_id.len())
    };
    let value = if a.is_default() {
        0
    } else {
        field_len(2, a.encoded_len())
    };
    key + value
}

/// The length of a length-delimited field `tag` carrying `len` bytes.
fn field_len(tag: u32, len: usize) -> usize {
    encoding::key_len(tag) + encoding::encoded_len_varint(len as u64) + len
}

/// The chunks written so far, and the small pieces not yet a chunk.
#[derive(Default)]
struct Chunks {
    done: Vec<Bytes>,
    small: BytesMut,
}

impl Chunks {
    /// `bytes` as a chunk of its own (after the small pieces before it), or among the small
    /// pieces if it is short.
    fn bytes(&mut self, bytes: &Bytes) {
        if bytes.len() < OWN_CHUNK_FROM {
            self.small.put_slice(bytes);
            return;
        }
        if !self.small.is_empty() {
            self.done.push(self.small.split().freeze());
        }
        self.done.push(bytes.clone());
    }

    fn finish(mut self) -> Vec<Bytes> {
        if !self.small.is_empty() {
            self.done.push(self.small.freeze());
        }
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What tonic sends for `answer`: the 5-byte header, then prost's encoding.
    fn as_tonic_sends(answer: &pluginv2::QueryDataResponse) -> Vec<u8> {
        let body = answer.encode_to_vec();
        let mut out = vec![0];
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn concatenated(answer: &QueryAnswer) -> Vec<u8> {
        let chunks = message_chunks(answer).unwrap_or_else(|e| panic!("{e}"));
        chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }

    fn proto(answer: &QueryAnswer) -> pluginv2::QueryDataResponse {
        pluginv2::QueryDataResponse {
            responses: answer
                .iter()
                .map(|(k, v)| (k.clone(), v.to_proto()))
                .collect(),
        }
    }

    /// prost writes a map in its `HashMap`'s order; ours is refId order. Each entry alone is
    /// compared byte for byte, and the whole answer decoded.
    fn assert_as_prost(answer: &QueryAnswer) {
        let ours = concatenated(answer);
        if answer.len() <= 1 {
            assert_eq!(ours, as_tonic_sends(&proto(answer)));
        }
        let mut body = Vec::new();
        for (k, v) in answer {
            let one = QueryAnswer::from([(k.clone(), v.clone())]);
            body.extend_from_slice(&as_tonic_sends(&proto(&one))[5..]);
        }
        assert_eq!(ours[0], 0, "not compressed");
        assert_eq!(ours[1..5], (body.len() as u32).to_be_bytes());
        assert_eq!(ours[5..], body[..]);
        let decoded = pluginv2::QueryDataResponse::decode(&ours[5..])
            .unwrap_or_else(|e| panic!("prost cannot decode it: {e}"));
        assert_eq!(decoded, proto(answer));
    }

    fn ok(frames: &[usize]) -> DataAnswer {
        DataAnswer::from(pluginv2::DataResponse {
            frames: frames
                .iter()
                .map(|&n| (0..n).map(|i| (i % 251) as u8).collect())
                .collect(),
            status: 200,
            ..Default::default()
        })
    }

    #[test]
    fn an_empty_answer_is_the_header_alone() {
        assert_as_prost(&QueryAnswer::new());
        assert_eq!(concatenated(&QueryAnswer::new()), [0, 0, 0, 0, 0]);
    }

    #[test]
    fn the_chunks_are_what_prost_encodes() {
        let mut failed = DataAnswer::failed(504, "délai dépassé — 締め切り ⏱".to_string());
        failed.rest.json_meta = br#"{"executedQueryString":"up"}"#.to_vec();
        let answer = QueryAnswer::from([
            ("A".to_string(), ok(&[300, 5000, 0, 70_000])),
            ("B".to_string(), failed),
            ("C".to_string(), ok(&[])),
            // prost leaves out a default key and a default value.
            (String::new(), ok(&[10])),
            ("D".to_string(), DataAnswer::default()),
            (
                "negative".to_string(),
                DataAnswer::failed(-1, String::new()),
            ),
        ]);
        assert_as_prost(&answer);
        for (k, v) in answer {
            assert_as_prost(&QueryAnswer::from([(k, v)]));
        }
    }

    /// The fields of SDK 0.5's messages this module writes by hand: a field added by an SDK
    /// upgrade stops this from compiling, rather than being dropped from every answer.
    #[test]
    fn the_messages_have_the_fields_written_here() {
        let pluginv2::QueryDataResponse { responses: _ } = Default::default();
        let pluginv2::DataResponse {
            frames: _,
            error: _,
            json_meta: _,
            status: _,
        } = Default::default();
    }

    #[test]
    fn a_frame_keeps_only_its_bytes() {
        let mut frame = Vec::with_capacity(64 * 1024);
        frame.extend_from_slice(&[1u8; 5000]);
        let answer = DataAnswer::from(pluginv2::DataResponse {
            frames: vec![frame],
            ..Default::default()
        });
        // The only owner: the `Vec` back is the allocation `Bytes` kept.
        let kept = Vec::from(answer.frames.into_iter().next().expect("a frame"));
        assert_eq!(kept.len(), 5000);
        assert!(kept.capacity() < 8 * 1024, "{} bytes kept", kept.capacity());
    }

    #[test]
    fn big_frames_are_sent_as_they_are() {
        let big = ok(&[3 << 20, 2 << 10]);
        let answer = QueryAnswer::from([("A".to_string(), big.clone())]);
        assert_as_prost(&answer);
        let chunks = message_chunks(&answer).unwrap_or_else(|e| panic!("{e}"));
        // Header and tags, the first frame, the next frame's tag, the frame, the status.
        assert_eq!(chunks.len(), 5);
        assert_eq!(chunks[1].as_ptr(), big.frames[0].as_ptr(), "not copied");
        assert_eq!(chunks[3].as_ptr(), big.frames[1].as_ptr(), "not copied");
    }

    #[test]
    fn a_frame_vec_becomes_bytes_without_a_copy() {
        let frame = vec![7u8; 4096];
        let at = frame.as_ptr();
        let answer = DataAnswer::from(pluginv2::DataResponse {
            frames: vec![frame],
            ..Default::default()
        });
        assert_eq!(answer.frames[0].as_ptr(), at);
    }
}
