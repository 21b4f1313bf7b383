//! The translation layer's parts: placeholders, catalogues (the built-in
//! French, the operator's files), choosing a language from
//! `Accept-Language`, `t!` in and out of a scope, and `_()` in templates.
//! Whole pages and the email job in French are in `request_tests.rs`.

use minijinja::Environment;

use super::{
    catalogue::Catalogue,
    negotiate::ranges,
    placeholders::{self, Piece},
    *,
};

fn embedded() -> Translations {
    Translations::embedded().unwrap()
}

fn french() -> Locale {
    embedded().for_language("fr")
}

fn file(tag: &str, source: &str) -> CatalogueFile {
    CatalogueFile {
        tag: tag.into(),
        source: source.into(),
        origin: format!("/etc/mxauth/translations/{tag}.json"),
    }
}

#[test]
fn placeholders_are_names_in_braces_and_other_braces_are_text() {
    assert_eq!(
        placeholders::pieces("Hi {name}, {a-b} { } {}{n2}!"),
        [
            Piece::Text("Hi "),
            Piece::Placeholder("name"),
            Piece::Text(", {a-b} { } {}"),
            Piece::Placeholder("n2"),
            Piece::Text("!"),
        ]
    );
    let filled = placeholders::fill("{a} and {b} and {a}", |name| {
        (name == "a").then(|| "x".to_owned())
    });
    assert_eq!(
        filled, "x and {b} and x",
        "a missing value stays as written"
    );
    assert_eq!(placeholders::pieces(""), []);
    assert_eq!(
        placeholders::pieces("{unclosed"),
        [Piece::Text("{unclosed")]
    );
}

#[test]
fn a_catalogue_must_be_flat_complete_and_keep_the_placeholders() {
    let origin = "fr.json";
    let parsed = Catalogue::parse(r#"{"Hi {name}": "Salut {name}"}"#, origin).unwrap();
    assert_eq!(parsed.get("Hi {name}"), Some("Salut {name}"));
    assert_eq!(parsed.get("Bye"), None);
    let refused = |json: &str| Catalogue::parse(json, origin).unwrap_err().to_string();
    assert!(refused("[1]").starts_with("fr.json: not a JSON object"));
    assert!(refused("{").starts_with("fr.json: not valid JSON"));
    // MAS's catalogues nest objects by key.
    assert!(refused(r#"{"action": {"back": "Back"}}"#)
        .contains("the value of \"action\" is not a string"));
    assert!(refused(r#"{"Hi": "  "}"#).contains("the translation of \"Hi\" is empty"));
    assert_eq!(
        refused(r#"{"Hi {name}": "Salut {nom}"}"#),
        "fr.json: the translation of \"Hi {name}\" has the placeholders {\"nom\"}, but the English text has {\"name\"}"
    );
    assert!(refused(r#"{"Hi": "Salut {name}"}"#).contains("has the placeholders {\"name\"}"));
}

#[test]
fn accept_language_ranges_are_ordered_by_weight_then_as_sent() {
    assert_eq!(ranges("fr-FR,fr;q=0.9,en;q=0.8"), ["fr-FR", "fr", "en"]);
    assert_eq!(ranges("de;q=0.5, fr , en;q=0.5"), ["fr", "de", "en"]);
    // q=0 is "not acceptable"; malformed weights drop their entry.
    assert_eq!(ranges("fr;q=0, de;q=0.000, en"), ["en"]);
    assert_eq!(
        ranges("fr;q=2, de;q=abc, it;q=0.1234, es;q=1.0, nl"),
        ["es", "nl"]
    );
    assert_eq!(ranges(" , ;q=1"), Vec::<&str>::new());
    assert_eq!(ranges("FR;Q=0.7,en;q=0.3"), ["FR", "en"]);
}

#[test]
fn the_most_wanted_available_language_is_chosen_else_english() {
    let t = embedded();
    let tag = |header: Option<&str>| t.negotiate(header).tag().to_owned();
    assert_eq!(tag(Some("fr-FR,fr;q=0.9")), "fr");
    assert_eq!(tag(Some("fr-CA")), "fr", "a region takes its language");
    assert_eq!(tag(Some("FR")), "fr");
    assert_eq!(tag(Some("de")), "en", "not available");
    assert_eq!(tag(Some("de, fr;q=0.5")), "fr", "the next wanted one");
    assert_eq!(tag(Some("en;q=0.9, fr")), "fr", "by weight, not order");
    assert_eq!(tag(Some("en, fr")), "en");
    assert_eq!(tag(Some("fr;q=0")), "en", "refused");
    assert_eq!(tag(Some("*, fr;q=0.5")), "en", "anything: the default");
    assert_eq!(tag(Some("")), "en");
    assert_eq!(tag(None), "en");
}

#[test]
fn operator_catalogues_add_languages_and_correct_the_built_in_ones() {
    let t = Translations::new(vec![
        file("fr", r#"{"Sign in": "S'identifier"}"#),
        file("pt-BR", r#"{"Sign in": "Entrar"}"#),
        file("en", r#"{"Sign in": "Log in"}"#),
    ])
    .unwrap();
    let tags: Vec<&str> = t.locales().iter().map(Locale::tag).collect();
    assert_eq!(tags, ["en", "fr", "pt-BR"]);
    let fr = t.for_language("fr");
    assert_eq!(fr.text("Sign in"), "S'identifier", "corrected");
    assert_eq!(fr.text("Password"), "Mot de passe", "the rest kept");
    assert_eq!(t.for_language("en").text("Sign in"), "Log in");
    // A language's ranges: `pt` takes `pt-BR`, `pt-PT` falls back to it.
    assert_eq!(t.negotiate(Some("pt")).tag(), "pt-BR");
    assert_eq!(t.negotiate(Some("pt-br")).tag(), "pt-BR");
    assert_eq!(t.for_language("pt-PT").tag(), "en", "no such language");
    assert_eq!(t.for_language("xx").text("Sign in"), "Log in");

    let error = Translations::new(vec![file("french", "{}")]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("/etc/mxauth/translations/french.json: \"french\" is not a language tag"),
        "{error}"
    );
    let error = Translations::new(vec![file("de", r#"{"Hi {n}": "Hallo"}"#)]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("/etc/mxauth/translations/de.json: the translation of"),
        "{error}"
    );
}

#[test]
fn t_is_english_outside_a_scope_and_the_scope_s_language_inside() {
    assert_eq!(
        t!("Invalid username or password."),
        "Invalid username or password."
    );
    assert_eq!(current().tag(), "en");
    let inside = scope_sync(french(), || {
        (
            current().tag().to_owned(),
            t!("Invalid username or password."),
            t!(
                "Too many attempts. Try again in {seconds} seconds.",
                seconds = 5
            ),
        )
    });
    assert_eq!(inside.0, "fr");
    assert_eq!(inside.1, "Nom d’utilisateur ou mot de passe incorrect.");
    assert_eq!(inside.2, "Trop de tentatives. Réessayez dans 5 secondes.");
    // A text the catalogue lacks stays English, placeholders filled.
    let missing = scope_sync(french(), || {
        translate("Not in any catalogue {n}", &[("n", &7)])
    });
    assert_eq!(missing, "Not in any catalogue 7");
    assert_eq!(current().tag(), "en", "the scope ended");
}

#[tokio::test]
async fn the_language_follows_the_task_across_awaits() {
    let seen = scope(french(), async {
        tokio::task::yield_now().await;
        t!("Too many attempts")
    })
    .await;
    assert_eq!(seen, "Trop de tentatives");
    assert_eq!(t!("Too many attempts"), "Too many attempts");
}

/// An environment with `_` and `lang`, rendering `source` as `name` (the
/// extension decides HTML escaping, as for the real templates).
fn render(name: &str, source: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    register(&mut env);
    env.add_template_owned(name.to_owned(), source.to_owned())?;
    env.get_template(name)?.render(ctx)
}

#[test]
fn templates_translate_with_escaped_values_in_html_only() {
    let source =
        r#"<html lang="{{ lang() }}">{{ _("Signed in as <strong>{mxid}</strong>", mxid=who) }}"#;
    let ctx = minijinja::context! { who => "<b>@a:x</b>" };
    let english = render("page.html", source, ctx.clone()).unwrap();
    assert_eq!(
        english,
        r#"<html lang="en">Signed in as <strong>&lt;b&gt;@a:x&lt;&#x2f;b&gt;</strong>"#
    );
    let french = scope_sync(french(), || render("page.html", source, ctx.clone())).unwrap();
    assert_eq!(
        french,
        r#"<html lang="fr">Connecté en tant que <strong>&lt;b&gt;@a:x&lt;&#x2f;b&gt;</strong>"#
    );
    // A text template: nothing escaped; numbers and values of any kind.
    let text = r#"{{ _("Hello {username},", username=who) }} {{ _("Device {device}", device=3) }}"#;
    assert_eq!(
        render("mail.txt", text, ctx.clone()).unwrap(),
        "Hello <b>@a:x</b>, Device 3"
    );
    // A value already safe (a captured block) is not escaped twice.
    let safe = r#"{% set link %}<a href="/x">{{ who }}</a>{% endset %}{{ _("Remove {email}", email=link) }}"#;
    assert_eq!(
        render("page.html", safe, ctx).unwrap(),
        r#"Remove <a href="/x">&lt;b&gt;@a:x&lt;&#x2f;b&gt;</a>"#
    );
}

#[test]
fn template_placeholders_and_arguments_must_match() {
    let ctx = minijinja::context! { who => "alice" };
    let error = |source: &str| {
        render("page.html", source, ctx.clone())
            .unwrap_err()
            .to_string()
    };
    assert!(
        error(r#"{{ _("Hello {username},") }}"#).contains("needs the argument username="),
        "a missing argument"
    );
    assert!(
        error(r#"{{ _("Hello {username},", usernme=who, username=who) }}"#)
            .contains("has no placeholder for"),
        "a misspelt extra argument"
    );
    assert!(
        error(r#"{{ _("Hello {username},", username=nobody) }}"#).contains("undefined"),
        "an undefined value"
    );
}
