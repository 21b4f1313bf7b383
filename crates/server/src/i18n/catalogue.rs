//! Catalogues and the set of languages: [`Catalogue`] (English text →
//! its translation, read from a flat JSON object and checked), [`Locale`]
//! (a language tag with its catalogue) and [`Translations`] (English, the
//! embedded catalogues of `translations/`, and the operator's
//! `templates.translations_path` files merged over them).

use std::{collections::HashMap, sync::Arc};

use thiserror::Error;

use super::placeholders;

/// The catalogues compiled in, by language tag. English is the text of
/// the messages themselves and needs none.
const EMBEDDED: &[(&str, &str)] = &[("fr", include_str!("../../../../translations/fr.json"))];

/// The language of the messages as written, and the fallback.
pub const ENGLISH: &str = "en";

/// One language's translations: English text → its translation.
#[derive(Debug, Default)]
pub struct Catalogue {
    entries: HashMap<String, String>,
}

impl Catalogue {
    /// Reads a flat JSON object of strings, and checks that each
    /// translation has exactly the placeholders of its English text and is
    /// not empty. `origin` names the file in errors.
    pub fn parse(json: &str, origin: &str) -> Result<Self, TranslationError> {
        let error = |message: String| TranslationError {
            origin: origin.to_owned(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| error(format!("not valid JSON: {e}")))?;
        let serde_json::Value::Object(object) = value else {
            return Err(error(
                "not a JSON object (a catalogue maps each English text to its translation)".into(),
            ));
        };
        let mut entries = HashMap::with_capacity(object.len());
        for (english, translated) in object {
            let serde_json::Value::String(translated) = translated else {
                return Err(error(format!(
                    "the value of {english:?} is not a string: a catalogue is one flat object mapping each English text to its translation (MAS's nested translation files do not work here)"
                )));
            };
            if translated.trim().is_empty() {
                return Err(error(format!("the translation of {english:?} is empty")));
            }
            let expected = placeholders::names(&english);
            let found = placeholders::names(&translated);
            if expected != found {
                return Err(error(format!(
                    "the translation of {english:?} has the placeholders {found:?}, but the English text has {expected:?}"
                )));
            }
            entries.insert(english, translated);
        }
        Ok(Self { entries })
    }

    /// The translation of `english`, if this catalogue has one.
    pub fn get(&self, english: &str) -> Option<&str> {
        self.entries.get(english).map(String::as_str)
    }

    /// Every English text this catalogue translates.
    #[cfg(test)]
    pub fn english_texts(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    fn merge(&mut self, other: Catalogue) {
        self.entries.extend(other.entries);
    }
}

/// A language the pages and emails can be shown in.
#[derive(Debug, Clone)]
pub struct Locale {
    tag: Arc<str>,
    catalogue: Arc<Catalogue>,
}

impl Locale {
    fn new(tag: &str, catalogue: Catalogue) -> Self {
        Self {
            tag: tag.into(),
            catalogue: Arc::new(catalogue),
        }
    }

    /// English as written in the code and templates.
    pub fn english() -> Self {
        Self::new(ENGLISH, Catalogue::default())
    }

    /// The language tag (`en`, `fr`), for `<html lang>` and the email job.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The text of `english` in this language; English when the
    /// catalogue has no translation for it.
    pub fn text<'a>(&'a self, english: &'a str) -> &'a str {
        self.catalogue.get(english).unwrap_or(english)
    }
}

/// A catalogue file from the operator's `templates.translations_path`,
/// read by the CLI.
#[derive(Debug, Clone)]
pub struct CatalogueFile {
    /// The language tag, from the file name (`fr` for `fr.json`).
    pub tag: String,
    pub source: String,
    /// Where it was read from, for error messages.
    pub origin: String,
}

/// A catalogue that cannot be used; the message names its file.
#[derive(Debug, Error)]
#[error("{origin}: {message}")]
pub struct TranslationError {
    origin: String,
    message: String,
}

/// Every language available: English first, then the embedded ones and
/// the operator's, by tag.
#[derive(Debug, Clone)]
pub struct Translations {
    locales: Vec<Locale>,
}

impl Translations {
    /// The embedded catalogues with `files` merged over them: a file for
    /// an embedded language (or English) replaces the texts it names and
    /// keeps the others; a file for another language adds it.
    pub fn new(files: Vec<CatalogueFile>) -> Result<Self, TranslationError> {
        let mut catalogues: Vec<(String, Catalogue)> = vec![(ENGLISH.into(), Catalogue::default())];
        let embedded = EMBEDDED.iter().map(|(tag, source)| CatalogueFile {
            tag: (*tag).into(),
            source: (*source).into(),
            origin: format!("translations/{tag}.json (built in)"),
        });
        for file in embedded.chain(files) {
            if !is_language_tag(&file.tag) {
                return Err(TranslationError {
                    origin: file.origin,
                    message: format!(
                        "{:?} is not a language tag: name catalogues after their language (fr.json, pt-BR.json)",
                        file.tag
                    ),
                });
            }
            let catalogue = Catalogue::parse(&file.source, &file.origin)?;
            let tag = file.tag.to_ascii_lowercase();
            match catalogues
                .iter_mut()
                .find(|(t, _)| t.to_ascii_lowercase() == tag)
            {
                Some((_, existing)) => existing.merge(catalogue),
                None => catalogues.push((file.tag, catalogue)),
            }
        }
        Ok(Self {
            locales: catalogues
                .into_iter()
                .map(|(tag, catalogue)| Locale::new(&tag, catalogue))
                .collect(),
        })
    }

    /// English and the embedded catalogues.
    pub fn embedded() -> Result<Self, TranslationError> {
        Self::new(Vec::new())
    }

    /// Every language, English first.
    pub fn locales(&self) -> &[Locale] {
        &self.locales
    }

    /// English, the fallback.
    pub fn english(&self) -> &Locale {
        &self.locales[0]
    }

    /// The language `range` asks for (`fr`, `fr-CA`, `FR`; RFC 4647 §3.3.1
    /// basic filtering, then the range's primary language): an exact tag
    /// first, then a tag the range is a prefix of, then the range's primary
    /// language. `None` when nothing matches.
    pub fn find(&self, range: &str) -> Option<&Locale> {
        let range = range.to_ascii_lowercase();
        let primary = range.split('-').next().unwrap_or_default();
        let tag = |l: &Locale| l.tag.to_ascii_lowercase();
        self.locales
            .iter()
            .find(|l| tag(l) == range)
            .or_else(|| {
                self.locales
                    .iter()
                    .find(|l| tag(l).starts_with(&format!("{range}-")))
            })
            .or_else(|| self.locales.iter().find(|l| tag(l) == primary))
    }

    /// The language of a stored tag (an email job's `language`), English
    /// when it is not available.
    pub fn for_language(&self, tag: &str) -> Locale {
        self.find(tag).unwrap_or(self.english()).clone()
    }
}

/// `fr`, `pt-BR`, `zh-Hant`: a primary language of 2 or 3 letters, then
/// subtags of letters and digits (BCP 47's shape, without its registry).
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}
