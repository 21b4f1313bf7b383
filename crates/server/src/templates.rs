//! Server-rendered pages (minijinja). The templates live in `templates/pages`
//! at the top of the repository and are compiled into the binary; HTML
//! escaping is on for every `.html` template.

use minijinja::Environment;
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("template {name} failed: {source}")]
pub struct TemplateError {
    name: &'static str,
    #[source]
    source: minijinja::Error,
}

/// Every page template, by name.
const PAGES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../../templates/pages/base.html"),
    ),
    (
        "login.html",
        include_str!("../../../templates/pages/login.html"),
    ),
    (
        "consent.html",
        include_str!("../../../templates/pages/consent.html"),
    ),
    (
        "error.html",
        include_str!("../../../templates/pages/error.html"),
    ),
    (
        "form_post.html",
        include_str!("../../../templates/pages/form_post.html"),
    ),
    (
        "logged_out.html",
        include_str!("../../../templates/pages/logged_out.html"),
    ),
    (
        "account.html",
        include_str!("../../../templates/pages/account.html"),
    ),
    (
        "compat_sso.html",
        include_str!("../../../templates/pages/compat_sso.html"),
    ),
];

#[derive(Debug, Clone)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles every template; a syntax error is a bug caught by the tests.
    pub fn new() -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        for (name, source) in PAGES {
            env.add_template(name, source)
                .map_err(|source| TemplateError { name, source })?;
        }
        Ok(Self { env })
    }

    pub fn render(
        &self,
        name: &'static str,
        context: impl Serialize,
    ) -> Result<String, TemplateError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(context))
            .map_err(|source| TemplateError { name, source })
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        PAGES.iter().map(|(name, _)| *name)
    }
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::*;

    #[test]
    fn every_page_renders_with_sample_data_and_escapes_html() {
        let t = Templates::new().unwrap();
        let login = t
            .render(
                "login.html",
                context! { service_name => "example.com", action => "/login", csrf => "tok", username => "<script>", error => "Wrong" },
            )
            .unwrap();
        assert!(login.contains("name=\"csrf\" value=\"tok\""));
        assert!(login.contains("&lt;script&gt;") && !login.contains("<script>"));
        let consent = t
            .render(
                "consent.html",
                context! {
                    service_name => "example.com", action => "/consent/1", logout_action => "/logout", csrf => "tok",
                    client => context! { name => "Element", uri => "https://element.io", host => "element.io" },
                    scopes => vec!["See your profile"], mxid => "@a:example.com", username => "a", redirect_host => "element.io",
                },
            )
            .unwrap();
        assert!(consent.contains("See your profile") && consent.contains("@a:example.com"));
        let error = t
            .render(
                "error.html",
                context! { service_name => "x", title => "Oops", message => "Bad" },
            )
            .unwrap();
        assert!(error.contains("Oops"));
        let form = t
            .render(
                "form_post.html",
                context! { redirect_uri => "https://app/cb", params => vec![("code", "a\"b")] },
            )
            .unwrap();
        assert!(form.contains("value=\"a&quot;b\""), "{form}");
        assert!(t
            .render("logged_out.html", context! { service_name => "x" })
            .is_ok());
        let account = t
            .render("account.html", context! { service_name => "x", mxid => "@a:x", csrf => "c", logout_action => "/logout" })
            .unwrap();
        assert!(account.contains("@a:x"));
        let sso = t
            .render("compat_sso.html", context! { service_name => "x", action => "/c", csrf => "c", host => "app.example.com", mxid => "@a:x" })
            .unwrap();
        assert!(sso.contains("app.example.com"));
    }

    /// Every file in templates/pages is compiled in, so a page added to
    /// the directory cannot be forgotten here.
    #[test]
    fn every_template_file_is_registered() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/pages");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut names: Vec<String> = Templates::names().map(str::to_owned).collect();
        names.sort();
        assert_eq!(files, names);
    }
}
