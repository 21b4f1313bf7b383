//! `templates check` and `templates.path` overrides through the binary.

use std::path::{Path, PathBuf};

/// What `templates check` says of the shipped templates: update it when a
/// template or a sample is added.
const ALL_VALID: &str = "Templates are valid: 36 templates rendered with 107 samples";

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
    check(&configs).succeeded().says(ALL_VALID);
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
        "templates:\n  assets_manifest: /usr/share/mas/manifest.json\n",
    );
    run(with_configs(&mut mxauth(), &configs).args(["config", "check"]))
        .succeeded()
        .says("warning: templates.assets_manifest:");
}

/// A `templates.translations_path` directory holding `files` (name, JSON),
/// and config files pointing at it.
fn catalogues(name: &str, files: &[(&str, &str)], extra: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = temp_dir(name);
    let translations = dir.join("translations");
    std::fs::create_dir_all(&translations).unwrap();
    for (file, text) in files {
        std::fs::write(translations.join(file), text).unwrap();
    }
    let configs = write_config(
        &dir,
        &format!(
            "templates:\n  translations_path: \"{}\"\n{extra}",
            translations.display()
        ),
    );
    (translations, configs)
}

/// A catalogue adds a language or corrects the built-in one; `config check`
/// no longer warns about the key.
#[test]
fn catalogues_of_translations_path_are_checked_and_listed() {
    let german = r#"{"Sign in": "Anmelden", "Sign in to {service}": "Bei {service} anmelden"}"#;
    let (dir, configs) = catalogues(
        "translations-good",
        &[
            ("de.json", german),
            ("fr.json", r#"{"Sign in": "S'identifier"}"#),
        ],
        "",
    );
    check(&configs).succeeded().says(ALL_VALID).says(&format!(
        "Languages: en, fr, de (with the catalogues of {}).",
        shown(&dir)
    ));
    let checked = run(with_configs(&mut mxauth(), &configs).args(["config", "check"]));
    checked.succeeded();
    assert!(
        !checked.stderr.contains("translations_path"),
        "{}",
        checked.stderr
    );
}

/// A translation that loses a placeholder, and MAS's nested catalogues,
/// are refused naming the file.
#[test]
fn a_broken_catalogue_is_refused_naming_its_file() {
    let (dir, configs) = catalogues(
        "translations-placeholder",
        &[("de.json", r#"{"Sign in to {service}": "Anmelden"}"#)],
        "",
    );
    check(&configs).failed().says(&format!(
        "{}: the translation of \"Sign in to {{service}}\" has the placeholders {{}}, but the English text has {{\"service\"}}",
        shown(&dir.join("de.json"))
    ));
    let (dir, configs) = catalogues(
        "translations-mas",
        &[("en.json", r#"{"action": {"back": "Back"}}"#)],
        "",
    );
    check(&configs).failed().says(&format!(
        "{}: the value of \"action\" is not a string",
        shown(&dir.join("en.json"))
    ));
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

/// A running server answers in the language of `Accept-Language`, with the
/// operator's catalogue for a language mxauth does not ship.
#[test]
fn the_server_speaks_the_language_asked_for() {
    let german = r#"{"Sign in to {service}": "Bei {service} anmelden"}"#;
    let dir = temp_dir("translations-server");
    let translations = dir.join("translations");
    std::fs::create_dir_all(&translations).unwrap();
    std::fs::write(translations.join("de.json"), german).unwrap();
    let db = TestDatabase::sqlite(&dir);
    let extra = format!(
        "templates:\n  translations_path: \"{}\"\n",
        translations.display()
    );
    let (files, port) = server_config("translations-server", &db, &extra);
    let _server = start_server(files, port);
    let page = |language: &str| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "GET /login HTTP/1.1\r\nHost: localhost\r\nAccept-Language: {language}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let german = page("de-AT, en;q=0.5");
    assert!(
        german.contains("<h1>Bei example.com anmelden</h1>"),
        "{german}"
    );
    assert!(german.contains("<html lang=\"de\">"), "{german}");
    let french = page("fr-FR,fr;q=0.9");
    assert!(
        french.contains("<h1>Se connecter à example.com</h1>"),
        "{french}"
    );
    let english = page("es");
    assert!(
        english.contains("<h1>Sign in to example.com</h1>"),
        "{english}"
    );
}
