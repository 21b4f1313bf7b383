//! `templates check`, and reading the overrides of `templates.path` and the
//! catalogues of `templates.translations_path` for every command that
//! renders pages. The files are read here (only the CLI reads files) and
//! their text handed to the server's `Templates`, so the server never
//! touches the disk while answering.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{bail, Context as _, Result};
use mxauth_config::RootConfig;
use mxauth_server::{
    i18n::{CatalogueFile, Translations},
    templates::{Branding, TemplateOverride, Templates},
};

use super::Context;
use crate::args::TemplatesCommand;

/// The extensions of template files; other files in `templates.path`
/// (notes, editor backups) are left alone.
const TEMPLATE_EXTENSIONS: &[&str] = &["html", "txt"];

pub fn run(ctx: &Context, command: &TemplatesCommand) -> Result<ExitCode> {
    match command {
        TemplatesCommand::Check => check(&ctx.config),
    }
}

/// `templates check`: renders every template with all its samples.
fn check(config: &RootConfig) -> Result<ExitCode> {
    let templates = load(config)?;
    let rendered = templates.check()?;
    let samples: usize = rendered.iter().map(|r| r.samples).sum();
    let mut overridden: Vec<&str> = templates.overridden().collect();
    overridden.sort_unstable();
    let from = match (&config.templates.path, overridden.len()) {
        (Some(dir), 0) => format!(" (no overrides in {dir})"),
        (Some(dir), n) => format!(" ({n} overridden from {dir})"),
        (None, _) => String::new(),
    };
    eprintln!(
        "Templates are valid: {} templates rendered with {samples} samples{from}.",
        rendered.len()
    );
    for file in overridden {
        eprintln!("  {file}");
    }
    if let Some(dir) = &config.templates.translations_path {
        let tags: Vec<&str> = templates
            .translations()
            .locales()
            .iter()
            .map(|l| l.tag())
            .collect();
        eprintln!(
            "Languages: {} (with the catalogues of {dir}).",
            tags.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The templates of `config` (embedded, with the overrides of
/// `templates.path`), each rendered with its samples so a broken override
/// stops the start instead of failing in front of a person.
pub fn load_checked(config: &RootConfig) -> Result<Templates> {
    let templates = load(config)?;
    templates.check()?;
    Ok(templates)
}

fn load(config: &RootConfig) -> Result<Templates> {
    let overrides = match &config.templates.path {
        Some(dir) => read_overrides(Path::new(dir))?,
        None => Vec::new(),
    };
    let branding = Branding {
        service_name: super::state::service_name(config),
    };
    let templates = Templates::new(branding, overrides)?;
    Ok(match &config.templates.translations_path {
        Some(dir) => {
            let files = read_catalogues(Path::new(dir))?;
            templates.with_translations(Translations::new(files)?)
        }
        None => templates,
    })
}

/// The catalogues of `templates.translations_path`: every `LANG.json` in
/// `dir` (`fr.json`, `pt-BR.json`), merged over the built-in ones.
fn read_catalogues(dir: &Path) -> Result<Vec<CatalogueFile>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "templates.translations_path: reading {} (it holds LANG.json catalogues; remove the key to use the built-in translations)",
            dir.display()
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("templates.translations_path: reading {}", dir.display()))?
            .path();
        if path.is_file() && path.extension().and_then(|e| e.to_str()) == Some("json") {
            files.push(path);
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let tag = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let source = std::fs::read_to_string(&file).with_context(|| {
                format!("templates.translations_path: reading {}", file.display())
            })?;
            Ok(CatalogueFile {
                tag,
                source,
                origin: file.display().to_string(),
            })
        })
        .collect()
}

/// Every template file under `dir`, named by its path relative to `dir`.
fn read_overrides(dir: &Path) -> Result<Vec<TemplateOverride>> {
    if !dir.is_dir() {
        bail!(
            "templates.path: {} is not a directory (it holds templates overriding the built-in ones; remove the key to use the built-in templates)",
            dir.display()
        );
    }
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let name = relative_name(dir, &file)?;
            let source = std::fs::read_to_string(&file)
                .with_context(|| format!("templates.path: reading {}", file.display()))?;
            Ok(TemplateOverride {
                name,
                source,
                origin: file.display().to_string(),
            })
        })
        .collect()
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("templates.path: reading {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("templates.path: reading {}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| TEMPLATE_EXTENSIONS.contains(&e))
        {
            files.push(path);
        }
    }
    Ok(())
}

/// `pages/login.html` for `<dir>/pages/login.html`, on every platform.
fn relative_name(dir: &Path, file: &Path) -> Result<String> {
    let relative = file.strip_prefix(dir).unwrap_or(file);
    let parts: Option<Vec<&str>> = relative.iter().map(|part| part.to_str()).collect();
    match parts {
        Some(parts) => Ok(parts.join("/")),
        None => bail!(
            "templates.path: {} is not a UTF-8 file name",
            file.display()
        ),
    }
}
