//! The `pluginv2.Data` gRPC service, in place of the SDK's generated `DataServer`.
//!
//! It does what the generated server does (read one request message, no compression, at most
//! [`MAX_REQUEST_BYTES`]; any other method is UNIMPLEMENTED; errors as tonic sends a
//! `Status`) except encode the answer: QueryData's answer goes to the HTTP/2 body as the
//! chunks of [`answer::message_chunks`], its frames' bytes as they are, where tonic would copy
//! them into one fresh buffer first (19.7 ms of a 10,000-insight answer, see
//! [`super::answer`]). What is answered is decided by [`LenientData`], as before.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use grafana_plugin_sdk::pluginv2;
use http::{header::CONTENT_TYPE, HeaderMap, HeaderValue};
use tonic::{
    body::BoxBody,
    codec::{Codec, ProstCodec, Streaming},
    metadata::{MetadataMap, MetadataValue, GRPC_CONTENT_TYPE},
    Status,
};

use super::{
    answer::{self, AnswerError},
    lenient::LenientData,
};

/// Largest gRPC request accepted (Grafana's own limit for plugin requests is larger than
/// tonic's 4 MiB default).
pub const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// The one method of the service.
const QUERY_DATA: &str = "/pluginv2.Data/QueryData";

/// The Data service: QueryData answered by [`LenientData`], sent without copying its frames.
#[derive(Clone)]
pub struct DataService(pub LenientData);

impl tonic::server::NamedService for DataService {
    const NAME: &'static str = pluginv2::data_server::SERVICE_NAME;
}

impl tower_service::Service<http::Request<BoxBody>> for DataService {
    type Response = http::Response<BoxBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<BoxBody>) -> Self::Future {
        if request.uri().path() != QUERY_DATA {
            return Box::pin(async { Ok(unimplemented()) });
        }
        let data = self.0.clone();
        Box::pin(async move {
            Ok(match query_data(&data, request).await {
                Ok(response) => response,
                Err(status) => status.into_http(),
            })
        })
    }
}

/// One QueryData call: the request decoded, answered, and its answer's chunks as the body.
async fn query_data(
    data: &LenientData,
    request: http::Request<BoxBody>,
) -> Result<http::Response<BoxBody>, Status> {
    let request = decode(request).await?;
    let answer = data.query_data(request).await;
    let chunks = answer::message_chunks(&answer).map_err(|e| {
        tracing::warn!(error = %e, "QueryData answer not sent.");
        match e {
            AnswerError::TooLarge(_) => Status::resource_exhausted(e.to_string()),
            AnswerError::Encode(_) => Status::internal(e.to_string()),
        }
    })?;
    let mut response = http::Response::new(tonic::body::boxed(AnswerBody {
        chunks: chunks.into_iter(),
        trailers: Some(ok_trailers()),
    }));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, GRPC_CONTENT_TYPE);
    Ok(response)
}

/// The request message with the call's metadata (`grpc-timeout` among it), as tonic's unary
/// server reads it.
async fn decode(
    request: http::Request<BoxBody>,
) -> Result<tonic::Request<pluginv2::QueryDataRequest>, Status> {
    if let Some(refused) = compression_refused(request.headers()) {
        return Err(refused);
    }
    let (parts, body) = request.into_parts();
    let mut codec =
        ProstCodec::<pluginv2::QueryDataResponse, pluginv2::QueryDataRequest>::default();
    // tonic's own reader: header flags, the size limit and their errors are tonic's.
    let mut stream = Streaming::new_request(codec.decoder(), body, None, Some(MAX_REQUEST_BYTES));
    let message = stream
        .message()
        .await?
        .ok_or_else(|| Status::internal("Missing request message."))?;
    let mut headers = parts.headers;
    if let Some(trailers) = stream.trailers().await? {
        headers.extend(trailers.into_headers());
    }
    Ok(tonic::Request::from_parts(
        MetadataMap::from_headers(headers),
        parts.extensions,
        message,
    ))
}

/// tonic's answer to a compressed request when no compression is enabled, if `headers` say
/// the request is compressed: UNIMPLEMENTED, saying which encodings are accepted.
fn compression_refused(headers: &HeaderMap) -> Option<Status> {
    let encoding = headers.get("grpc-encoding")?;
    if encoding.as_bytes() == b"identity" {
        return None;
    }
    let mut status = Status::unimplemented(format!(
        "Content is compressed with `{}` which isn't supported",
        String::from_utf8_lossy(encoding.as_bytes())
    ));
    status.metadata_mut().insert(
        "grpc-accept-encoding",
        MetadataValue::from_static("identity"),
    );
    Some(status)
}

/// What the generated server answers for a method it does not have.
fn unimplemented() -> http::Response<BoxBody> {
    let mut response = http::Response::new(tonic::body::empty_body());
    let headers = response.headers_mut();
    headers.insert(
        "grpc-status",
        HeaderValue::from(tonic::Code::Unimplemented as i32),
    );
    headers.insert(CONTENT_TYPE, GRPC_CONTENT_TYPE);
    response
}

/// The trailers of a successful call, as tonic writes them.
fn ok_trailers() -> HeaderMap {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from(tonic::Code::Ok as i32));
    trailers
}

/// A response body: the message's chunks, then its trailers.
struct AnswerBody {
    chunks: std::vec::IntoIter<Bytes>,
    trailers: Option<HeaderMap>,
}

impl http_body::Body for AnswerBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let frame = match self.chunks.next() {
            Some(chunk) => http_body::Frame::data(chunk),
            None => match self.trailers.take() {
                Some(trailers) => http_body::Frame::trailers(trailers),
                None => return Poll::Ready(None),
            },
        };
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.len() == 0 && self.trailers.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use http_body::Body;

    #[test]
    fn the_body_is_the_chunks_then_the_trailers() {
        let chunks = vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cde")];
        let mut body = AnswerBody {
            chunks: chunks.clone().into_iter(),
            trailers: Some(ok_trailers()),
        };
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut frames = Vec::new();
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            frames.push(frame.unwrap_or_else(|e| panic!("{e}")));
        }
        assert!(body.is_end_stream());
        let (data, rest) = frames.split_at(2);
        let data: Vec<Bytes> = data.iter().filter_map(|f| f.data_ref().cloned()).collect();
        assert_eq!(data, chunks);
        let trailers = rest
            .iter()
            .filter_map(|f| f.trailers_ref())
            .collect::<Vec<_>>();
        assert_eq!(trailers, [&ok_trailers()]);
        assert_eq!(
            ok_trailers().get("grpc-status"),
            Some(&HeaderValue::from_static("0"))
        );
    }

    #[test]
    fn other_methods_and_compression_are_refused_as_tonic_does() {
        let other = unimplemented();
        assert_eq!(
            other.headers().get("grpc-status"),
            Some(&HeaderValue::from_static("12"))
        );
        assert_eq!(other.headers().get(CONTENT_TYPE), Some(&GRPC_CONTENT_TYPE));
        let mut headers = HeaderMap::new();
        assert!(compression_refused(&headers).is_none());
        headers.insert("grpc-encoding", HeaderValue::from_static("identity"));
        assert!(compression_refused(&headers).is_none());
        headers.insert("grpc-encoding", HeaderValue::from_static("gzip"));
        let refused = compression_refused(&headers).expect("gzip is refused");
        assert_eq!(refused.code(), tonic::Code::Unimplemented);
        assert_eq!(
            refused.message(),
            "Content is compressed with `gzip` which isn't supported"
        );
        assert_eq!(
            refused.metadata().get("grpc-accept-encoding"),
            Some(&MetadataValue::from_static("identity"))
        );
    }
}
