//! Every URL mxauth hands out, derived from `http.public_base` (whose path is
//! the prefix, e.g. `https://matrix.example.com/auth/`) and `http.issuer`.
//! Routes use the same relative paths, so links and routes cannot drift.

use url::Url;

/// Relative paths of the endpoints, as routed under a listener's prefix.
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const WEBFINGER: &str = "/.well-known/webfinger";
    pub const JWKS: &str = "/oauth2/keys.json";
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/oauth2/token";
    pub const INTROSPECT: &str = "/oauth2/introspect";
    pub const REVOKE: &str = "/oauth2/revoke";
    pub const USERINFO: &str = "/oauth2/userinfo";
    pub const REGISTRATION: &str = "/oauth2/registration";
    pub const DEVICE: &str = "/oauth2/device";
    pub const LOGIN: &str = "/login";
    pub const LOGOUT: &str = "/logout";
    pub const CONSENT: &str = "/consent/{grant_id}";
    pub const ACCOUNT: &str = "/account/";
    /// Without the slash: redirects to [`ACCOUNT`].
    pub const ACCOUNT_NO_SLASH: &str = "/account";
    /// The account pages (`handlers/pages/account/`): email addresses,
    /// password change (MAS's path), sessions and one session,
    /// deactivation, approving a cross-signing reset (MAS's path).
    pub const ACCOUNT_EMAILS: &str = "/account/emails";
    /// Adding an address: ask for it, then for the mailed code.
    pub const ACCOUNT_EMAIL_ADD: &str = "/account/emails/add";
    pub const ACCOUNT_EMAIL_VERIFY: &str = "/account/emails/verify/{id}";
    pub const ACCOUNT_PASSWORD: &str = "/account/password/change";
    pub const ACCOUNT_SESSIONS: &str = "/account/sessions";
    pub const ACCOUNT_SESSION: &str = "/account/sessions/{id}";
    pub const ACCOUNT_DEACTIVATE: &str = "/account/deactivate";
    pub const ACCOUNT_CROSS_SIGNING_RESET: &str = "/account/reset-cross-signing";
    /// W3C "A Well-Known URL for Changing Passwords": redirects to
    /// [`ACCOUNT_PASSWORD`].
    pub const CHANGE_PASSWORD: &str = "/.well-known/change-password";
    /// Registration: the choice of method, the password form, its steps.
    pub const REGISTER: &str = "/register";
    pub const REGISTER_PASSWORD: &str = "/register/password";
    pub const REGISTER_VERIFY_EMAIL: &str = "/register/steps/{id}/verify-email";
    pub const REGISTER_TOKEN: &str = "/register/steps/{id}/token";
    pub const REGISTER_DISPLAY_NAME: &str = "/register/steps/{id}/display-name";
    pub const REGISTER_FINISH: &str = "/register/steps/{id}/finish";
    /// Password recovery: ask by address, "check your email" (with a
    /// resend), and the mailed link's page that sets the new password.
    pub const RECOVER: &str = "/recover";
    pub const RECOVER_PROGRESS: &str = "/recover/progress/{id}";
    pub const ACCOUNT_PASSWORD_RECOVERY: &str = "/account/password/recovery";
    /// The admin console (`handlers/pages/admin/`): the users (search and
    /// create), one user and what an admin changes on them, the
    /// registration tokens. Each change posts to its own path.
    pub const ADMIN: &str = "/admin";
    pub const ADMIN_USER: &str = "/admin/users/{id}";
    pub const ADMIN_USER_LOCK: &str = "/admin/users/{id}/lock";
    pub const ADMIN_USER_UNLOCK: &str = "/admin/users/{id}/unlock";
    pub const ADMIN_USER_DEACTIVATE: &str = "/admin/users/{id}/deactivate";
    pub const ADMIN_USER_REACTIVATE: &str = "/admin/users/{id}/reactivate";
    pub const ADMIN_USER_PASSWORD: &str = "/admin/users/{id}/password";
    pub const ADMIN_USER_ADMIN_RIGHTS: &str = "/admin/users/{id}/admin-rights";
    pub const ADMIN_USER_EMAILS: &str = "/admin/users/{id}/emails";
    pub const ADMIN_USER_EMAIL_REMOVE: &str = "/admin/users/{id}/emails/remove";
    pub const ADMIN_USER_SESSION_END: &str = "/admin/users/{id}/sessions/end";
    pub const ADMIN_USER_SESSIONS_END_ALL: &str = "/admin/users/{id}/sessions/end-all";
    pub const ADMIN_USER_TOKENS: &str = "/admin/users/{id}/personal-tokens";
    pub const ADMIN_USER_TOKEN_REVOKE: &str = "/admin/users/{id}/personal-tokens/revoke";
    pub const ADMIN_REGISTRATION_TOKENS: &str = "/admin/registration-tokens";
    pub const ADMIN_REGISTRATION_TOKEN_REVOKE: &str = "/admin/registration-tokens/{id}/revoke";
    pub const ADMIN_REGISTRATION_TOKEN_UNREVOKE: &str = "/admin/registration-tokens/{id}/unrevoke";
    /// The admin API's OpenAPI document and its browser (`adminapi`; the
    /// API's own paths are in its `#[utoipa::path]` annotations).
    pub const API_SPEC: &str = "/api/spec.json";
    pub const API_DOC: &str = "/api/doc/";
    pub const HEALTH: &str = "/health";
    /// The Prometheus scrape (the `prometheus` resource).
    pub const METRICS: &str = "/metrics";
    pub const GRAPHQL: &str = "/graphql";
    /// The legacy SSO confirmation page (reached through the homeserver's
    /// `/login/sso/redirect`).
    pub const COMPLETE_COMPAT_SSO: &str = "/complete-compat-sso/{id}";
    /// Signing in through an upstream provider: the redirect to it, its
    /// callback, the page that links or registers, its back-channel logout.
    pub const UPSTREAM_AUTHORIZE: &str = "/upstream/authorize/{id}";
    pub const UPSTREAM_CALLBACK: &str = "/upstream/callback/{id}";
    pub const UPSTREAM_LINK: &str = "/upstream/link/{id}";
    pub const UPSTREAM_BACKCHANNEL_LOGOUT: &str = "/upstream/backchannel-logout/{id}";

    // The legacy Matrix client-server API (the `compat` resource), for
    // every `{version}` (`r0`, `v3`…) clients use.
    pub const COMPAT_LOGIN: &str = "/_matrix/client/{version}/login";
    pub const COMPAT_SSO_REDIRECT: &str = "/_matrix/client/{version}/login/sso/redirect";
    pub const COMPAT_SSO_REDIRECT_IDP: &str = "/_matrix/client/{version}/login/sso/redirect/{idp}";
    pub const COMPAT_LOGOUT: &str = "/_matrix/client/{version}/logout";
    pub const COMPAT_LOGOUT_ALL: &str = "/_matrix/client/{version}/logout/all";
    pub const COMPAT_REFRESH: &str = "/_matrix/client/{version}/refresh";
    /// The prefix of every Matrix API path.
    pub const MATRIX_API_PREFIX: &str = "/_matrix/";
}

/// Whether `target` may be used as a redirect after a page: a path on this
/// site under `base_path`, starting with exactly one `/`, with no
/// backslash, no `//` anywhere and no control character. Browsers read
/// `/\\evil`, `//evil` and `/\t/evil` (tab and newlines are stripped by the
/// URL parser, WHATWG URL §4.4) as another origin, and CR/LF would split
/// the `Location` header.
pub fn is_local_path(target: &str, base_path: &str) -> bool {
    target.starts_with(base_path)
        && target.starts_with('/')
        && !target.contains("//")
        && !target.contains('\\')
        && !target.chars().any(char::is_control)
}

#[derive(Debug, Clone)]
pub struct UrlBuilder {
    base: Url,
    issuer: String,
}

impl UrlBuilder {
    /// `public_base` gets a trailing slash if it lacks one, so relative
    /// joins keep its path.
    pub fn new(public_base: &Url, issuer: &Url) -> Self {
        let mut base = public_base.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Self {
            base,
            issuer: issuer.as_str().to_owned(),
        }
    }

    /// The issuer exactly as configured: OIDC Discovery §4.3 compares it
    /// character for character with the `iss` of tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The absolute URL of a relative path like `/oauth2/token`.
    pub fn absolute(&self, path: &str) -> String {
        self.base
            .join(path.trim_start_matches('/'))
            .map(String::from)
            .unwrap_or_else(|_| format!("{}{}", self.base, path.trim_start_matches('/')))
    }

    /// The host of `public_base` (where a CAPTCHA must have been solved).
    pub fn public_host(&self) -> String {
        self.base.host_str().unwrap_or_default().to_owned()
    }

    /// The path part, prefix included, for links on our own pages and for
    /// the cookie path.
    pub fn relative(&self, path: &str) -> String {
        format!("{}{}", self.base.path(), path.trim_start_matches('/'))
    }

    pub fn base_path(&self) -> &str {
        self.base.path()
    }

    pub fn is_https(&self) -> bool {
        self.base.scheme() == "https"
    }

    /// The login page, coming back to `next` (a path of ours) afterwards;
    /// with the MSC2964 `login_hint` to prefill, and `prompt=login` when a
    /// fresh login is required (OIDC Core §3.1.2.1). The one builder for
    /// every page that sends a browser to log in.
    pub fn login_redirect(
        &self,
        next: &str,
        login_hint: Option<&str>,
        prompt_login: bool,
    ) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("next", next);
        if let Some(hint) = login_hint {
            query.append_pair("login_hint", hint);
        }
        if prompt_login {
            query.append_pair("prompt", "login");
        }
        format!("{}?{}", self.relative(paths::LOGIN), query.finish())
    }

    pub fn consent(&self, grant_id: &str) -> String {
        self.relative(&paths::CONSENT.replace("{grant_id}", grant_id))
    }

    /// The legacy SSO confirmation page, absolute: the redirect to it leaves
    /// through the homeserver's domain, where a relative path would land on
    /// the homeserver instead of on mxauth.
    pub fn complete_compat_sso(&self, login_id: &str) -> String {
        self.absolute(&paths::COMPLETE_COMPAT_SSO.replace("{id}", login_id))
    }

    /// Where a button sends the browser to sign in with an upstream
    /// provider, coming back to `next` (a local path). Absolute: the legacy
    /// SSO redirect leaves through the homeserver's domain.
    pub fn upstream_authorize(&self, provider_id: &str, next: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        let path = paths::UPSTREAM_AUTHORIZE.replace("{id}", provider_id);
        format!("{}?{query}", self.absolute(&path))
    }

    /// The redirect URI registered at the provider (absolute, exact).
    pub fn upstream_callback(&self, provider_id: &str) -> String {
        self.absolute(&paths::UPSTREAM_CALLBACK.replace("{id}", provider_id))
    }

    /// The page that signs in, links or registers after the callback.
    pub fn upstream_link(&self, link_id: &str) -> String {
        self.relative(&paths::UPSTREAM_LINK.replace("{id}", link_id))
    }

    /// One session on the account pages.
    /// `route` (a path with one `{id}`) for `id`, relative: the admin
    /// console's links and form actions.
    pub fn with_id(&self, route: &str, id: &str) -> String {
        self.relative(&route.replace("{id}", id))
    }

    pub fn account_session(&self, session_id: &str) -> String {
        self.relative(&paths::ACCOUNT_SESSION.replace("{id}", session_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_public_base_path() {
        let base = Url::parse("https://matrix.example.com/auth").unwrap();
        let urls = UrlBuilder::new(&base, &base);
        assert_eq!(
            urls.absolute(paths::TOKEN),
            "https://matrix.example.com/auth/oauth2/token"
        );
        assert_eq!(urls.relative(paths::LOGIN), "/auth/login");
        assert_eq!(urls.consent("01ABC"), "/auth/consent/01ABC");
        assert_eq!(
            urls.login_redirect("/auth/consent/01ABC", Some("mxid:@a:b c"), true),
            "/auth/login?next=%2Fauth%2Fconsent%2F01ABC&login_hint=mxid%3A%40a%3Ab+c&prompt=login"
        );
        assert_eq!(
            urls.login_redirect("/auth/account/", None, false),
            "/auth/login?next=%2Fauth%2Faccount%2F"
        );
        assert_eq!(urls.base_path(), "/auth/");
        assert_eq!(urls.issuer(), "https://matrix.example.com/auth");
        assert!(urls.is_https());
        let root = Url::parse("http://localhost:8080/").unwrap();
        let urls = UrlBuilder::new(&root, &root);
        assert_eq!(
            urls.absolute(paths::JWKS),
            "http://localhost:8080/oauth2/keys.json"
        );
        assert_eq!(urls.relative(paths::AUTHORIZE), "/authorize");
    }

    #[test]
    fn only_plain_local_paths_are_redirect_targets() {
        for good in ["/auth/account/", "/auth/consent/01AB?x=1", "/auth/"] {
            assert!(is_local_path(good, "/auth/"), "{good}");
        }
        for bad in [
            "/\t/evil.example/",
            "/auth/\t/evil.example/",
            "//evil.example/",
            "/auth//evil.example/",
            "/auth/\\evil.example",
            "/auth/\r\nSet-Cookie: x=1",
            "/auth/\0",
            "https://evil.example/",
            "evil.example",
            "/other/",
            "",
        ] {
            assert!(!is_local_path(bad, "/auth/"), "{bad:?}");
            assert!(!is_local_path(bad, "/") || bad == "/other/", "{bad:?}");
        }
        assert!(is_local_path("/other/", "/"));
    }
}
