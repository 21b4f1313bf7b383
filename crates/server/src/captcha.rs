//! CAPTCHA at registration (`captcha.service`): the widget the form shows
//! and the server-side check of its answer at the service's `siteverify`
//! endpoint, through the shared outbound client. All three services speak
//! the same protocol: POST `secret`, `response` and `remoteip` as a form,
//! read `{"success": bool, "hostname": …, "error-codes": […]}`
//! (reCAPTCHA's "Verifying the user's response", hCaptcha's and
//! Turnstile's server-side validation pages).

use serde::Deserialize;

use crate::outbound::{Origin, Outbound};

/// The services of MAS's `captcha.service`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptchaService {
    RecaptchaV2,
    CloudflareTurnstile,
    HCaptcha,
}

impl CaptchaService {
    /// From `captcha.service` (checked by `config check`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "recaptcha_v2" => Some(Self::RecaptchaV2),
            "cloudflare_turnstile" => Some(Self::CloudflareTurnstile),
            "hcaptcha" => Some(Self::HCaptcha),
            _ => None,
        }
    }

    /// Where answers are verified.
    pub fn verify_url(self) -> &'static str {
        match self {
            Self::RecaptchaV2 => "https://www.google.com/recaptcha/api/siteverify",
            Self::CloudflareTurnstile => {
                "https://challenges.cloudflare.com/turnstile/v0/siteverify"
            }
            Self::HCaptcha => "https://api.hcaptcha.com/siteverify",
        }
    }

    /// The form field the widget fills with its answer.
    pub fn response_field(self) -> &'static str {
        match self {
            Self::RecaptchaV2 => "g-recaptcha-response",
            Self::CloudflareTurnstile => "cf-turnstile-response",
            Self::HCaptcha => "h-captcha-response",
        }
    }

    /// The service's script, which turns the widget's element into the
    /// challenge (the only script on our pages, and only with a CAPTCHA).
    pub fn script_url(self) -> &'static str {
        match self {
            Self::RecaptchaV2 => "https://www.google.com/recaptcha/api.js",
            Self::CloudflareTurnstile => "https://challenges.cloudflare.com/turnstile/v0/api.js",
            Self::HCaptcha => "https://js.hcaptcha.com/1/api.js",
        }
    }

    /// The class of the element the script fills.
    pub fn widget_class(self) -> &'static str {
        match self {
            Self::RecaptchaV2 => "g-recaptcha",
            Self::CloudflareTurnstile => "cf-turnstile",
            Self::HCaptcha => "h-captcha",
        }
    }
}

/// A configured CAPTCHA.
#[derive(Debug, Clone)]
pub struct Captcha {
    pub service: CaptchaService,
    pub site_key: String,
    pub secret_key: String,
    /// The service's `siteverify` URL; tests point it elsewhere.
    pub verify_url: String,
}

/// Why an answer was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("the CAPTCHA was not answered")]
    Missing,
    #[error("the CAPTCHA answer was refused ({0})")]
    Refused(String),
    #[error("the CAPTCHA was solved for another site ({0})")]
    WrongHostname(String),
    /// The service could not be asked: the form says to try again.
    #[error("the CAPTCHA service cannot be reached: {0}")]
    Unreachable(String),
}

#[derive(Deserialize)]
struct VerifyAnswer {
    success: bool,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
}

/// The answers of the three services are a few hundred bytes.
const ANSWER_LIMIT: usize = 16 * 1024;

impl Captcha {
    /// From `captcha`, when a service is set (and known: `config check`
    /// refuses others).
    pub fn from_config(config: &mxauth_config::CaptchaConfig) -> Option<Self> {
        let service = CaptchaService::parse(config.service.as_deref()?)?;
        Some(Self {
            service,
            site_key: config.site_key.clone().unwrap_or_default(),
            secret_key: config.secret_key.clone().unwrap_or_default(),
            verify_url: service.verify_url().to_owned(),
        })
    }

    /// Asks the service whether `response` (the widget's answer) is a
    /// solved challenge for `hostname` (this server's public host).
    pub async fn verify(
        &self,
        outbound: &Outbound,
        response: &str,
        remote_ip: Option<&str>,
        hostname: &str,
    ) -> Result<(), CaptchaError> {
        if response.trim().is_empty() {
            return Err(CaptchaError::Missing);
        }
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("secret", &self.secret_key)
                .append_pair("response", response);
            if let Some(ip) = remote_ip {
                form.append_pair("remoteip", ip);
            }
            form.finish()
        };
        // The URL is one of ours (or a test's), never from input.
        let answer = outbound
            .send(
                Origin::Trusted,
                reqwest::Method::POST,
                &self.verify_url,
                ANSWER_LIMIT,
                |r| {
                    r.header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(form)
                },
            )
            .await
            .map_err(|e| CaptchaError::Unreachable(e.to_string()))?;
        if !answer.status.is_success() {
            return Err(CaptchaError::Unreachable(format!(
                "it answered {}",
                answer.status
            )));
        }
        let answer: VerifyAnswer = serde_json::from_slice(&answer.body)
            .map_err(|e| CaptchaError::Unreachable(format!("unreadable answer: {e}")))?;
        if !answer.success {
            return Err(CaptchaError::Refused(answer.error_codes.join(", ")));
        }
        // A token solved on another site must not pass here (the services
        // report where it was solved; reCAPTCHA's guide asks to check it).
        match answer.hostname {
            Some(solved_on) if !solved_on.eq_ignore_ascii_case(hostname) => {
                Err(CaptchaError::WrongHostname(solved_on))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
