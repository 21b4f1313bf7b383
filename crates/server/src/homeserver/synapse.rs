//! Synapse's `/_synapse/mas/*` API (modern mode), authenticated with the
//! shared secret. Request and answer shapes are those observed on Synapse
//! 1.163.2 (see the project's synapse-contract notes). Every call has a
//! timeout, and errors name the call and Synapse's `errcode`.

use std::{sync::Arc, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tracing::Instrument;
use url::Url;

use crate::metrics::Metrics;

use super::{
    Availability, Homeserver, HomeserverError, HomeserverUser, HsFuture, ProvisionRequest,
};

pub struct SynapseConnection {
    http: reqwest::Client,
    endpoint: Url,
    secret: String,
    server_name: String,
    /// `matrix.kind: synapse_read_only`: reads only, writes are refused.
    read_only: bool,
    /// Each call's time and failures, by call name.
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for SynapseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SynapseConnection")
            .field("endpoint", &self.endpoint.as_str())
            .field("server_name", &self.server_name)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl SynapseConnection {
    pub fn new(
        endpoint: Url,
        secret: String,
        server_name: String,
        read_only: bool,
    ) -> Result<Self, String> {
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(format!(
                "matrix.endpoint {endpoint}: must be an http:// or https:// URL"
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("mxauth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            endpoint,
            secret,
            server_name,
            read_only,
            metrics: Arc::default(),
        })
    }

    /// Counts calls in `metrics` (the server's) instead of a private set.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    fn url(&self, path: &str) -> String {
        let base = self.endpoint.as_str().trim_end_matches('/');
        format!("{base}/_synapse/mas/{path}")
    }

    /// Sends one call, in a span of its own, and counts its time and
    /// whether it failed.
    async fn call(
        &self,
        call: &'static str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), HomeserverError> {
        let span = tracing::info_span!(
            "homeserver",
            otel.kind = "client",
            call,
            http.request.method = %method,
            http.response.status_code = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let result = self
            .send(call, method, path, body)
            .instrument(span.clone())
            .await;
        let status = match &result {
            Ok((status, _)) => Some(status.as_u16()),
            Err(HomeserverError::Refused { status, .. }) => Some(*status),
            Err(_) => None,
        };
        if let Some(status) = status {
            span.record("http.response.status_code", i64::from(status));
        }
        // A 404 answers a question (no such user or device); anything else
        // that is not a success is a failure worth alerting on.
        let failed = result.is_err() && status != Some(404);
        self.metrics
            .record_homeserver_call(call, started.elapsed(), failed);
        result
    }

    /// Sends one call and returns its status and JSON body.
    async fn send(
        &self,
        call: &'static str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), HomeserverError> {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.secret);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| HomeserverError::Unreachable {
                call,
                reason: e.to_string(),
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| HomeserverError::Unreachable {
                call,
                reason: e.to_string(),
            })?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok((status, body));
        }
        Err(HomeserverError::Refused {
            call,
            status: status.as_u16(),
            errcode: body
                .get("errcode")
                .and_then(Value::as_str)
                .map(str::to_owned),
            message: body
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| text.chars().take(200).collect()),
        })
    }

    fn write_guard(&self, call: &'static str) -> Result<(), HomeserverError> {
        if self.read_only {
            Err(HomeserverError::ReadOnly { call })
        } else {
            Ok(())
        }
    }

    async fn post(
        &self,
        call: &'static str,
        path: &str,
        body: Value,
    ) -> Result<StatusCode, HomeserverError> {
        self.write_guard(call)?;
        Ok(self.call(call, Method::POST, path, Some(body)).await?.0)
    }
}

fn query(localpart: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("localpart", localpart)
        .finish()
}

impl Homeserver for SynapseConnection {
    fn server_name(&self) -> &str {
        &self.server_name
    }

    fn query_user<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, Option<HomeserverUser>> {
        Box::pin(async move {
            let path = format!("query_user?{}", query(localpart));
            match self.call("query_user", Method::GET, &path, None).await {
                Ok((_, body)) => Ok(Some(HomeserverUser {
                    user_id: body["user_id"].as_str().unwrap_or_default().to_owned(),
                    display_name: body["display_name"].as_str().map(str::to_owned),
                    avatar_url: body["avatar_url"].as_str().map(str::to_owned),
                    is_suspended: body["is_suspended"].as_bool().unwrap_or(false),
                    is_deactivated: body["is_deactivated"].as_bool().unwrap_or(false),
                })),
                Err(HomeserverError::Refused { status: 404, .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn set_display_name<'a>(
        &'a self,
        localpart: &'a str,
        display_name: &'a str,
    ) -> HsFuture<'a, ()> {
        Box::pin(async move {
            let body = json!({ "localpart": localpart, "displayname": display_name });
            self.post("set_displayname", "set_displayname", body)
                .await
                .map(|_| ())
        })
    }

    fn unset_display_name<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.post(
                "unset_displayname",
                "unset_displayname",
                json!({ "localpart": localpart }),
            )
            .await
            .map(|_| ())
        })
    }

    fn update_device_display_name<'a>(
        &'a self,
        localpart: &'a str,
        device_id: &'a str,
        display_name: &'a str,
    ) -> HsFuture<'a, ()> {
        Box::pin(async move {
            let body = json!({ "localpart": localpart, "device_id": device_id, "display_name": display_name });
            self.post(
                "update_device_display_name",
                "update_device_display_name",
                body,
            )
            .await
            .map(|_| ())
        })
    }

    fn provision_user<'a>(&'a self, request: &'a ProvisionRequest) -> HsFuture<'a, bool> {
        Box::pin(async move {
            let mut body = json!({ "localpart": request.localpart, "locked": request.locked });
            match &request.display_name {
                Some(Some(name)) => body["set_displayname"] = json!(name),
                Some(None) => body["unset_displayname"] = json!(true),
                None => {}
            }
            match &request.emails {
                Some(emails) if !emails.is_empty() => body["set_emails"] = json!(emails),
                Some(_) => body["unset_emails"] = json!(true),
                None => {}
            }
            // 201 when created, 200 when it existed.
            let status = self.post("provision_user", "provision_user", body).await?;
            Ok(status == StatusCode::CREATED)
        })
    }

    fn localpart_availability<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, Availability> {
        Box::pin(async move {
            // Synapse only accepts ASCII localparts.
            if !localpart.is_ascii() {
                return Ok(Availability::Unavailable {
                    errcode: "M_INVALID_USERNAME".into(),
                    message: "Synapse accepts only ASCII usernames".into(),
                });
            }
            let path = format!("is_localpart_available?{}", query(localpart));
            match self
                .call("is_localpart_available", Method::GET, &path, None)
                .await
            {
                Ok(_) => Ok(Availability::Available),
                // The three answers that mean "not this name" (see the
                // synapse-contract notes); anything else is an error.
                Err(HomeserverError::Refused {
                    errcode: Some(errcode),
                    message,
                    ..
                }) if matches!(
                    errcode.as_str(),
                    "M_USER_IN_USE" | "M_INVALID_USERNAME" | "M_EXCLUSIVE"
                ) =>
                {
                    Ok(Availability::Unavailable { errcode, message })
                }
                Err(e) => Err(e),
            }
        })
    }

    fn upsert_device<'a>(
        &'a self,
        localpart: &'a str,
        device_id: &'a str,
        display_name: Option<&'a str>,
    ) -> HsFuture<'a, ()> {
        Box::pin(async move {
            let mut body = json!({ "localpart": localpart, "device_id": device_id });
            if let Some(name) = display_name {
                body["display_name"] = json!(name);
            }
            self.post("upsert_device", "upsert_device", body)
                .await
                .map(|_| ())
        })
    }

    fn delete_device<'a>(&'a self, localpart: &'a str, device_id: &'a str) -> HsFuture<'a, ()> {
        Box::pin(async move {
            let body = json!({ "localpart": localpart, "device_id": device_id });
            self.post("delete_device", "delete_device", body)
                .await
                .map(|_| ())
        })
    }

    fn sync_devices<'a>(&'a self, localpart: &'a str, devices: &'a [String]) -> HsFuture<'a, ()> {
        Box::pin(async move {
            let body = json!({ "localpart": localpart, "devices": devices });
            self.post("sync_devices", "sync_devices", body)
                .await
                .map(|_| ())
        })
    }

    fn delete_user<'a>(&'a self, localpart: &'a str, erase: bool) -> HsFuture<'a, ()> {
        Box::pin(async move {
            let body = json!({ "localpart": localpart, "erase": erase });
            self.post("delete_user", "delete_user", body)
                .await
                .map(|_| ())
        })
    }

    fn reactivate_user<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.post(
                "reactivate_user",
                "reactivate_user",
                json!({ "localpart": localpart }),
            )
            .await
            .map(|_| ())
        })
    }

    fn allow_cross_signing_reset<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, ()> {
        Box::pin(async move {
            let body = json!({ "localpart": localpart });
            self.post(
                "allow_cross_signing_reset",
                "allow_cross_signing_reset",
                body,
            )
            .await
            .map(|_| ())
        })
    }
}
