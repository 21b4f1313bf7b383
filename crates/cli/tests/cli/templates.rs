//! `templates check` and `templates.path` overrides through the binary.

use std::path::{Path, PathBuf};

use crate::support::*;

/// A `templates.path` directory holding `files` (relative path, text), and
/// config files pointing at it.
fn overrides(name: &str, files: &[(&str, &str)]) -> (PathBuf, Vec<PathBuf>) {
    let dir = temp_dir(name);
    let templates = dir.join("templates");
    for (path, text) in files {
        let file = templates.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    let configs = write_config(
        &dir,
        &format!("templates:\n  path: \"{}\"\n", templates.display()),
    );
    (templates, configs)
}

fn check(configs: &[PathBuf]) -> Run {
    run(with_configs(&mut mxauth(), configs).args(["templates", "check"]))
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn shipped_templates_pass() {
    let configs = write_config(&temp_dir("templates-shipped"), "{}");
    check(&configs)
        .succeeded()
        .says("Templates are valid: 33 templates rendered with 70 samples");
}

#[test]
fn an_override_is_rendered_and_listed() {
    let page = "{% extends \"pages/base.html\" %}\n{% block content %}<p>Bye from {{ service_name }}</p>{% endblock %}\n";
    let (dir, configs) = overrides(
        "templates-good",
        &[
            ("pages/logged_out.html", page),
            ("README.md", "not a template"),
        ],
    );
    check(&configs)
        .succeeded()
        .says(&format!("(1 overridden from {})", shown(&dir)))
        .says(&shown(&dir.join("pages/logged_out.html")));
    // `templates.path` is acted on, so `config check` does not warn about it.
    let checked = run(with_configs(&mut mxauth(), &configs).args(["config", "check"]));
    checked.succeeded();
    assert!(!checked.stderr.contains("templates"), "{}", checked.stderr);
}

#[test]
fn an_override_with_a_syntax_error_fails_naming_file_and_line() {
    let page = "{% extends \"pages/base.html\" %}\n{% block content %}\n{% if error %}\n<p>never closed</p>\n{% endblock %}\n";
    let (dir, configs) = overrides("templates-syntax", &[("pages/login.html", page)]);
    let file = shown(&dir.join("pages/login.html"));
    check(&configs).failed().says(&format!(
        "error: {file} (overriding pages/login.html), line 5: syntax error"
    ));
    // The server refuses to start on it, with the same message.
    run(with_configs(&mut mxauth(), &configs).args(["config", "check"]))
        .failed()
        .says(&format!("{file} (overriding pages/login.html), line 5"));
}

#[test]
fn an_override_with_an_undefined_variable_fails_naming_file_and_line() {
    let page = "{% extends \"pages/base.html\" %}\n{% block content %}\n<h1>{{ title }}</h1>\n<p>{{ mesage }}</p>\n{% endblock %}\n";
    let (dir, configs) = overrides("templates-undefined", &[("pages/error.html", page)]);
    check(&configs).failed().says(&format!(
        "error: {} (overriding pages/error.html), line 4: undefined value, in `<p>{{{{ mesage }}}}</p>`",
        shown(&dir.join("pages/error.html"))
    ));
}

#[test]
fn an_override_of_no_template_and_a_missing_directory_are_refused() {
    let (dir, configs) = overrides("templates-unknown", &[("login.html", "hello")]);
    check(&configs).failed().says(&format!(
        "{}: `login.html` overrides no template of mxauth",
        shown(&dir.join("login.html"))
    ));
    let missing = temp_dir("templates-missing").join("nowhere");
    let configs = write_config(
        &temp_dir("templates-missing-config"),
        &format!("templates:\n  path: \"{}\"\n", missing.display()),
    );
    check(&configs).failed().says(&format!(
        "templates.path: {} is not a directory",
        shown(&missing)
    ));
}

#[test]
fn keys_not_acted_on_are_still_named() {
    let configs = write_config(
        &temp_dir("templates-unbuilt"),
        "templates:\n  translations_path: /usr/share/mas/translations\n  assets_manifest: /usr/share/mas/manifest.json\n",
    );
    run(with_configs(&mut mxauth(), &configs).args(["config", "check"]))
        .succeeded()
        .says("warning: templates.translations_path:")
        .says("warning: templates.assets_manifest:");
}

/// A running server serves the override, and the embedded page where there
/// is none.
#[test]
fn the_server_serves_overridden_pages() {
    let dir = temp_dir("templates-server");
    let templates = dir.join("templates");
    std::fs::create_dir_all(templates.join("pages")).unwrap();
    std::fs::write(
        templates.join("pages/login.html"),
        "{% extends \"pages/base.html\" %}{% block content %}<h1>Welcome to {{ service_name }}</h1><input name=\"csrf\" value=\"{{ csrf }}\">{% endblock %}",
    )
    .unwrap();
    let db = TestDatabase::sqlite(&dir);
    let extra = format!("templates:\n  path: \"{}\"\n", templates.display());
    let (files, port) = server_config("templates-server", &db, &extra);
    let _server = start_server(files, port);
    let (status, body) = http_get(port, "/login").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<h1>Welcome to example.com</h1>"), "{body}");
    let (status, body) = http_get(port, "/consent/01J0000000000000000000000").unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("Request not found"), "{body}");
}
