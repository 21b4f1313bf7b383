//! Every template rendered with every sample, HTML escaping, and overrides
//! from `templates.path`.

use super::*;

fn branding() -> Branding {
    Branding {
        service_name: "example.com".into(),
    }
}

fn embedded() -> Templates {
    Templates::new(branding(), Vec::new()).unwrap()
}

fn overriding(name: &str, source: &str) -> Result<Templates, TemplateError> {
    Templates::new(
        branding(),
        vec![TemplateOverride {
            name: name.into(),
            source: source.into(),
            origin: format!("/etc/mxauth/templates/{name}"),
        }],
    )
}

/// The files of `templates/`, by their names as templates.
fn template_files() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap();
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let file = file.unwrap().file_name();
            files.push(format!(
                "{}/{}",
                dir.file_name().to_string_lossy(),
                file.to_string_lossy()
            ));
        }
    }
    files.sort();
    files
}

#[test]
fn every_template_renders_with_every_sample() {
    let rendered = embedded().check().unwrap();
    assert!(rendered.iter().all(|r| r.samples > 0), "{rendered:?}");
    // Every template file has a context with samples, except the layouts,
    // which the pages render.
    let mut checked: Vec<String> = rendered.iter().map(|r| r.template.to_owned()).collect();
    checked.push("pages/base.html".into());
    checked.push("pages/account_layout.html".into());
    checked.push("pages/admin_layout.html".into());
    checked.sort();
    assert_eq!(checked, template_files());
}

/// Every file in `templates/` is compiled in, so a page added to the
/// directory cannot be forgotten here.
#[test]
fn every_template_file_is_registered() {
    let mut names: Vec<String> = Templates::names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(names, template_files());
}

#[test]
fn pages_escape_html_and_show_their_context() {
    let t = embedded();
    let login = t
        .render(&LoginContext {
            action: "/login".into(),
            csrf: "tok".into(),
            next: "/account/".into(),
            username: "<script>".into(),
            error: Some("Wrong".into()),
            client_name: Some("Element".into()),
            password_login: true,
            providers: Vec::new(),
            register_href: None,
            recover_href: None,
        })
        .unwrap();
    assert!(login.contains("name=\"csrf\" value=\"tok\""));
    assert!(login.contains("&lt;script&gt;") && !login.contains("<script>"));
    assert!(login.contains("to continue to Element"), "{login}");
    assert!(login.contains("Sign in to example.com"), "{login}");
    let consent = t.render(&ConsentContext::samples()[0]).unwrap();
    assert!(consent.contains("Know who you are") && consent.contains("@alice:example.com"));
    assert!(consent.contains(">element.io</a>"), "{consent}");
    let error = t.render(&ErrorContext::new("Oops", "Bad")).unwrap();
    assert!(error.contains("Oops"));
    let form = t
        .render(&FormPostContext {
            redirect_uri: "https://app/cb".into(),
            params: vec![("code".into(), "a\"b".into())],
        })
        .unwrap();
    assert!(form.contains("value=\"a&quot;b\""), "{form}");
    assert!(t.render(&LoggedOutContext {}).is_ok());
    let mut ctx = AccountContext::samples().remove(0);
    ctx.nav.mxid = "@a:x".into();
    ctx.emails[0].email = "<b>@example.com".into();
    let account = t.render(&ctx).unwrap();
    assert!(account.contains("@a:x"));
    assert!(account.contains("&lt;b&gt;@example.com"), "{account}");
    let sso = t.render(&CompatSsoContext::samples()[0]).unwrap();
    assert!(sso.contains("app.example.com"));
}

#[test]
fn an_override_replaces_its_template_and_the_others_stay_embedded() {
    let t = overriding(
        "pages/logged_out.html",
        "{% extends \"pages/base.html\" %}{% block content %}Bye from {{ service_name }}{% endblock %}",
    )
    .unwrap();
    assert!(t
        .render(&LoggedOutContext {})
        .unwrap()
        .contains("Bye from example.com"));
    assert!(t
        .render(&AccountContext::samples()[0])
        .unwrap()
        .contains("Your account"));
    assert_eq!(
        t.overridden().collect::<Vec<_>>(),
        ["/etc/mxauth/templates/pages/logged_out.html"]
    );
    // Every template but the layouts the pages extend.
    let layouts = [
        "pages/base.html",
        "pages/account_layout.html",
        "pages/admin_layout.html",
    ];
    let rendered = Templates::names().filter(|n| !layouts.contains(n)).count();
    assert_eq!(t.check().unwrap().len(), rendered);
}

#[test]
fn emails_render_three_parts_escaping_only_the_html() {
    let t = embedded();
    let email = t
        .render_email(&VerificationEmailContext {
            code: "012345".into(),
            email: "a<b>@example.com".into(),
            username: Some("alice".into()),
            expires_in_minutes: 10,
        })
        .unwrap();
    assert_eq!(
        email.subject,
        "012345 is your example.com verification code"
    );
    assert!(email.text.contains("a<b>@example.com"), "{}", email.text);
    assert!(
        email.html.contains("a&lt;b&gt;@example.com"),
        "{}",
        email.html
    );
    assert!(email.text.starts_with("Hello alice,"));

    // A subject template cannot start a second header line.
    let t = overriding(
        "emails/verification.subject.txt",
        "Your code\nBcc: everyone@example.com\n  is {{ code }}\n",
    )
    .unwrap();
    let email = t
        .render_email(&VerificationEmailContext::samples()[0])
        .unwrap();
    assert_eq!(
        email.subject,
        "Your code Bcc: everyone@example.com is 012345"
    );

    let recovery = embedded()
        .render_email(&RecoveryEmailContext::samples()[0])
        .unwrap();
    let link = &RecoveryEmailContext::samples()[0].link;
    assert!(recovery.text.contains(link.as_str()));
    // minijinja escapes `/` in HTML too; browsers read it back.
    assert!(recovery
        .html
        .contains("href=\"https:&#x2f;&#x2f;auth.example.com&#x2f;recover"));
    let notice = embedded()
        .render_email(&NewEmailContext::samples()[0])
        .unwrap();
    assert!(notice.subject.starts_with("A new email address was added"));
    assert!(notice.text.contains("alice@work.example.org"));
}

#[test]
fn a_syntax_error_names_the_override_and_its_line() {
    let error = overriding("pages/login.html", "<p>\n{% if error %}\n<p>oops</p>\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "/etc/mxauth/templates/pages/login.html (overriding pages/login.html), line "
        ),
        "{error}"
    );
    assert!(error.contains("syntax error"), "{error}");
}

#[test]
fn an_undefined_variable_is_an_error_naming_the_override_and_its_line() {
    let t = overriding(
        "pages/error.html",
        "{% extends \"pages/base.html\" %}\n{% block content %}\n<h1>{{ titel }}</h1>\n{% endblock %}",
    )
    .unwrap();
    let error = t.check().unwrap_err().to_string();
    assert_eq!(
        error,
        "/etc/mxauth/templates/pages/error.html (overriding pages/error.html), line 3: undefined value, in `<h1>{{ titel }}</h1>`"
    );
}

/// The layout fails while a page renders; the error names the layout's
/// file, not the page's.
#[test]
fn an_error_in_an_overridden_layout_names_the_layout() {
    let t = overriding(
        "pages/base.html",
        "<title>{{ service_name }}</title>\n{{ site_name }}\n{% block content %}{% endblock %}",
    )
    .unwrap();
    let error = t.check().unwrap_err().to_string();
    assert!(
        error.starts_with("/etc/mxauth/templates/pages/base.html (overriding pages/base.html), line 2: undefined value"),
        "{error}"
    );
}

#[test]
fn an_override_of_no_template_is_refused() {
    let error = overriding("pages/logn.html", "hello")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "/etc/mxauth/templates/pages/logn.html: `pages/logn.html` overrides no template"
        ),
        "{error}"
    );
    assert!(error.contains("pages/login.html"), "{error}");
}
