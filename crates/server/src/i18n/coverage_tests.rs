//! The French catalogue translates every text the code and the templates
//! ask for, and nothing else: each `_("…")` of `templates/` and each
//! `t!("…")` of `crates/server/src` (tests aside) is read from the files,
//! so a text added without its translation, or a translation whose text is
//! gone, fails here.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use super::{catalogue::Catalogue, placeholders};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files_under(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, extensions, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            out.push(path);
        }
    }
}

/// The string literal at the start of `text` (after white space), quoted
/// with `"` or `'`, with `\` escapes undone (and a Rust line continuation
/// skipped); `None` when `text` does not start with one.
fn literal(text: &str) -> Option<String> {
    let text = text.trim_start();
    let quote = text.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut out = String::new();
    let mut chars = text[1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c == quote => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                // Rust's `\` at the end of a line: the next line's leading
                // white space is not part of the string.
                '\n' => while chars.next_if(|c| c.is_whitespace()).is_some() {},
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Every literal passed to `call` (`_(` or `t!(`) in `text`, outside line
/// comments (the module documentation shows examples), with the line it is
/// on.
fn calls(text: &str, call: &str, origin: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices(call) {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `print!(` is not `t!(`, `gettext_(` not `_(`
        }
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        if text[line_start..at].contains("//") {
            continue;
        }
        let line = text[..at].matches('\n').count() + 1;
        let english = literal(&text[at + call.len()..])
            .unwrap_or_else(|| panic!("{origin}:{line}: {call} without a string literal"));
        out.push((english, line));
    }
    out
}

/// Tests may use texts of their own (`tests.rs`, `*_tests.rs`, `tests/`).
fn is_test_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || path.components().any(|c| c.as_os_str() == "tests")
}

/// English text → where it is used first.
fn texts() -> BTreeMap<String, String> {
    let root = repository();
    let mut found = BTreeMap::new();
    let mut scan = |dir: PathBuf, extensions: &[&str], call: &str| {
        let mut files = Vec::new();
        files_under(&dir, extensions, &mut files);
        assert!(!files.is_empty(), "no files under {}", dir.display());
        for file in files
            .into_iter()
            .filter(|f| !is_test_file(f.strip_prefix(&root).unwrap_or(f)))
        {
            let text = std::fs::read_to_string(&file).unwrap();
            let shown = file.strip_prefix(&root).unwrap_or(&file).display();
            for (english, line) in calls(&text, call, &shown.to_string()) {
                found.entry(english).or_insert(format!("{shown}:{line}"));
            }
        }
    };
    scan(root.join("templates"), &["html", "txt"], "_(");
    scan(root.join("crates/server/src"), &["rs"], "t!(");
    found
}

fn french() -> Catalogue {
    let text = std::fs::read_to_string(repository().join("translations/fr.json")).unwrap();
    Catalogue::parse(&text, "translations/fr.json").unwrap()
}

#[test]
fn every_text_is_translated_to_french_and_every_translation_is_used() {
    let texts = texts();
    // The scan itself works: texts of both kinds are found.
    assert!(texts.contains_key("Sign in to {service}"), "{texts:?}");
    assert!(
        texts.contains_key("Invalid username or password."),
        "{texts:?}"
    );
    let french = french();
    let missing: Vec<String> = texts
        .iter()
        .filter(|(english, _)| french.get(english).is_none())
        .map(|(english, at)| format!("{at}: {english:?}"))
        .collect();
    assert!(
        missing.is_empty(),
        "add these to translations/fr.json:\n{}",
        missing.join("\n")
    );
    let stale: BTreeSet<&str> = french
        .english_texts()
        .filter(|english| !texts.contains_key(*english))
        .collect();
    assert!(
        stale.is_empty(),
        "translations/fr.json translates texts nothing uses: {stale:?}"
    );
}

/// `Catalogue::parse` checks placeholders; this says which entry is wrong
/// in the words of this test too, and checks texts are not left in English.
#[test]
fn french_translations_keep_the_placeholders_and_are_translated() {
    let french = french();
    let mut same = Vec::new();
    for english in french.english_texts() {
        let translated = french.get(english).unwrap();
        assert_eq!(
            placeholders::names(english),
            placeholders::names(translated),
            "{english:?} → {translated:?}"
        );
        if translated == english {
            same.push(english);
        }
    }
    same.sort_unstable();
    // Words French writes the same way; anything else is a forgotten
    // translation.
    assert_eq!(same, ["Application", "Code", "Session", "Sessions"]);
}

#[test]
fn the_scanner_reads_literals_as_the_languages_do() {
    let rust = "let a = t!(\"He said \\\"hi\\\" {n}\", n = 1);\n// t!(\"not this\")\nprint!(\"nor this\");\nt!(\n    \"split\",\n)";
    let found: Vec<String> = calls(rust, "t!(", "test.rs")
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(found, ["He said \"hi\" {n}", "split"]);
    let template = "{{ _(\"A\") }} {{ x or _('B') }} {{ gettext_(\"C\") }}";
    let found: Vec<String> = calls(template, "_(", "test.html")
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(found, ["A", "B"]);
}
