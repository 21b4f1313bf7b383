//! What a load connection sends and how it judges each answer: the same
//! request every time (discovery, health, introspection, compat login), or
//! a refresh-token chain where each answer gives the next request.

use serde_json::Value;

use crate::{
    http::{request, Response},
    load::Job,
    setup::{introspect_body, refresh_body},
};

pub const FORM: &str = "application/x-www-form-urlencoded";

/// The same request every time, answered 200, optionally containing a
/// marker.
pub struct Fixed {
    pub bytes: Vec<u8>,
    pub must_contain: Option<&'static [u8]>,
}

impl Fixed {
    /// `GET path`, answered 200.
    pub fn get(host: &str, path: &str) -> Self {
        Self {
            bytes: request("GET", path, host, &[("Accept", "application/json")], None),
            must_contain: None,
        }
    }

    /// The homeserver (or a confidential client: `authorization`)
    /// introspecting `token` at `path`: it must be active.
    pub fn introspection(host: &str, path: &str, authorization: &str, token: &str) -> Self {
        let body = introspect_body(token);
        Self {
            bytes: request(
                "POST",
                path,
                host,
                &[
                    ("Authorization", authorization),
                    ("X-MAS-Supports-Device-Id", "1"),
                    ("Accept", "application/json"),
                ],
                Some((FORM, body.as_bytes())),
            ),
            must_contain: Some(b"\"active\":true"),
        }
    }
}

impl Job for Fixed {
    fn request(&mut self) -> &[u8] {
        &self.bytes
    }

    fn check(&mut self, response: &Response) -> Result<(), String> {
        if response.status != 200 {
            return Err(format!("status {}", response.status));
        }
        match self.must_contain {
            Some(marker) if !response.body.windows(marker.len()).any(|w| w == marker) => {
                Err("unexpected body".to_owned())
            }
            _ => Ok(()),
        }
    }
}

/// A refresh-token chain: each answer's refresh token is the next one sent.
pub struct Refresh {
    host: String,
    path: String,
    client_id: String,
    bytes: Vec<u8>,
}

impl Refresh {
    pub fn new(host: String, path: String, client_id: String, token: &str) -> Self {
        let mut job = Self {
            host,
            path,
            client_id,
            bytes: Vec::new(),
        };
        job.set_token(token);
        job
    }

    fn set_token(&mut self, token: &str) {
        let body = refresh_body(&self.client_id, token);
        self.bytes = request(
            "POST",
            &self.path,
            &self.host,
            &[("Accept", "application/json")],
            Some((FORM, body.as_bytes())),
        );
    }
}

impl Job for Refresh {
    fn request(&mut self) -> &[u8] {
        &self.bytes
    }

    fn check(&mut self, response: &Response) -> Result<(), String> {
        if response.status != 200 {
            return Err(format!("status {}", response.status));
        }
        let answer: Value =
            serde_json::from_slice(&response.body).map_err(|_| "body is not JSON".to_owned())?;
        let next = answer["refresh_token"]
            .as_str()
            .ok_or_else(|| "no refresh_token in the answer".to_owned())?;
        self.set_token(next);
        Ok(())
    }
}
