//! Translation of everything a person reads on the pages and in the
//! emails, gettext-style: the English text is the message id, and each
//! other language is a catalogue mapping English text to its translation
//! (`translations/fr.json` at the top of the repository, compiled in; an
//! operator's `templates.translations_path` adds or corrects languages).
//! A text a catalogue lacks shows in English.
//!
//! # Writing text
//!
//! - In Rust (page handlers, `PageError`s, refusals):
//!   `t!("Try again in {seconds} seconds.", seconds = wait)` returns the
//!   `String` in the current language. The first argument must be a string
//!   literal, so the catalogue test finds it; `{name}` placeholders are
//!   filled from the named arguments (any `Display`).
//! - In templates: `{{ _("Sign in to {name}", name=service_name) }}`. In an
//!   HTML template the text is markup (`<strong>{mxid}</strong>` is fine)
//!   and the values are escaped; placeholders and arguments must match
//!   exactly (a template error otherwise). `{{ lang() }}` is the language
//!   tag, for `<html lang>`.
//! - Then add the English text with its French translation to
//!   `translations/fr.json` (placeholders identical). `i18n::coverage_tests`
//!   fails on a text missing there, and on an entry no code uses any more.
//! - A new page (registration, recovery…): `_()` around every word of its
//!   template, `t!` (imported as `use crate::i18n::t;`) for its
//!   `PageError`s and form mistakes built in Rust, then
//!   `cargo test -p mxauth-server --lib -- i18n::coverage` lists the texts
//!   `fr.json` lacks, with their file and line. Code that queues an email
//!   passes `i18n::current().tag()` as the job's language
//!   (`handlers/pages/account/email_add.rs`), and the job renders inside
//!   `scope_sync(templates.translations().for_language(..), ..)`.
//! - Not translated: protocol answers (OAuth and Matrix JSON errors, the
//!   RFC error codes and descriptions sent to clients), log lines, and
//!   technical details quoted from elsewhere (a provider's error, a
//!   homeserver's refusal), which are placed into translated sentences.
//!
//! # Which language
//!
//! A request's language comes from its `Accept-Language` header
//! ([`negotiate::layer`], on every listener): the most wanted available
//! language, `fr-CA` taking `fr`, English when none fits. It is held in a
//! tokio task-local for the time the request is answered, rather than
//! passed as an argument: handlers, extractors, `PageError`s, the error
//! page layer and `Templates::render` all read it where they produce text,
//! so no handler or render signature carries it and a new page is
//! translated by writing `t!`/`_()` alone. Outside a request (jobs, the
//! CLI, `mxauth templates check`) the language is English unless a caller
//! sets one: the email job renders in the language stored with the job,
//! through [`scope_sync`]. A task-local does not cross `tokio::spawn`:
//! work spawned from a request that produces text takes `current()` along
//! and runs in [`scope`].

mod catalogue;
pub mod negotiate;
mod placeholders;
mod template_functions;

#[cfg(test)]
mod coverage_tests;
#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod tests;

use std::{fmt::Display, future::Future, sync::LazyLock};

pub use catalogue::{CatalogueFile, Locale, TranslationError, Translations, ENGLISH};
pub use template_functions::register;

tokio::task_local! {
    /// The language of the request (or job) being answered.
    static CURRENT: Locale;
}

/// The language outside any scope.
static DEFAULT: LazyLock<Locale> = LazyLock::new(Locale::english);

/// Runs `f` with the current language: the request's or job's, else
/// English.
fn with_current<R>(f: impl FnOnce(&Locale) -> R) -> R {
    match CURRENT.try_with(Locale::clone) {
        Ok(locale) => f(&locale),
        Err(_) => f(&DEFAULT),
    }
}

/// The current language (a clone: cheap, two `Arc`s).
pub fn current() -> Locale {
    with_current(Locale::clone)
}

/// Runs the future `f` in `locale`.
pub async fn scope<F: Future>(locale: Locale, f: F) -> F::Output {
    CURRENT.scope(locale, f).await
}

/// Runs `f` in `locale`: for work outside a request, such as rendering an
/// email in the language of the person it goes to.
pub fn scope_sync<R>(locale: Locale, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(locale, f)
}

/// What `t!` expands to: `english` in the current language, its
/// placeholders filled from `args`.
pub fn translate(english: &str, args: &[(&str, &dyn Display)]) -> String {
    debug_assert!(
        placeholders::names(english).into_iter().eq({
            let mut given: Vec<&str> = args.iter().map(|(n, _)| *n).collect();
            given.sort_unstable();
            given.dedup();
            given
        }),
        "the arguments of {english:?} are {:?}: not its placeholders",
        args.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
    with_current(|locale| {
        placeholders::fill(locale.text(english), |name| {
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, value)| value.to_string())
        })
    })
}

/// `t!("English text {name}.", name = value)`: the text in the current
/// language (a `String`), with `{name}` replaced by `value` (any
/// `Display`). See the module documentation.
macro_rules! t {
    ($english:literal $(,)?) => {
        $crate::i18n::translate($english, &[])
    };
    ($english:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::translate(
            $english,
            &[$((stringify!($name), &$value as &dyn ::std::fmt::Display)),+],
        )
    };
}

pub(crate) use t;
