//! The OTLP trace exporter: spans batched on the SDK's own thread and
//! posted as OTLP/HTTP JSON (OTLP specification, "OTLP/HTTP") to
//! `telemetry.tracing.endpoint`, sampled at `sample_rate` (a child follows
//! its parent's decision).
//!
//! The exporter is lent our reqwest client through opentelemetry-http's
//! trait instead of bringing its own HTTP stack; each request runs on the
//! tokio runtime, since the batch thread has no reactor of its own.

use std::{future::Future, pin::Pin, time::Duration};

use bytes::Bytes;
use mxauth_config::TracingConfig;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    trace::{Sampler, SdkTracerProvider},
    Resource,
};

/// How long one export may take before it is given up.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

pub fn provider(
    config: &TracingConfig,
    runtime: &tokio::runtime::Handle,
) -> Result<SdkTracerProvider, String> {
    let client = RuntimeClient {
        client: reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?,
        runtime: runtime.clone(),
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(config.traces_url().as_str())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sample_ratio())));
    let resource = Resource::builder()
        .with_service_name("mxauth")
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler)
        .with_resource(resource)
        .build())
}

/// reqwest, driven on the tokio runtime whichever thread asks.
#[derive(Debug)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

type Answer = Result<http::Response<Bytes>, HttpError>;

impl HttpClient for RuntimeClient {
    fn send_bytes<'a, 'f>(
        &'a self,
        request: http::Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Answer> + Send + 'f>>
    where
        Self: 'f,
        'a: 'f,
    {
        let client = self.client.clone();
        let task = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let mut answer = http::Response::builder().status(response.status());
            if let Some(headers) = answer.headers_mut() {
                *headers = response.headers().clone();
            }
            let body = response.bytes().await?;
            Ok::<_, HttpError>(answer.body(body)?)
        });
        Box::pin(async move { task.await.map_err(|e| Box::new(e) as HttpError)? })
    }
}
