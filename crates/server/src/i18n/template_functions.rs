//! The template side: `_("English text {name}", name=value)` and `lang()`,
//! global functions of the minijinja environment.
//!
//! In an HTML template the message is markup (it may hold `<strong>`; the
//! catalogues are as trusted as the templates) and each value is escaped
//! unless it is already safe; in a text template nothing is escaped. Every
//! placeholder of the English text must be given, and nothing else, so a
//! misspelt name fails the template check instead of showing `{nmae}`.

use minijinja::{
    value::Kwargs, AutoEscape, Environment, Error, ErrorKind, HtmlEscape, State, Value,
};

use super::placeholders;

/// Registers `_` and `lang` in `env`.
pub fn register(env: &mut Environment<'_>) {
    env.add_function("_", gettext);
    env.add_function("lang", lang);
}

/// `_("English text {name}", name=value)`: the text in the current
/// language, its placeholders filled in.
fn gettext(state: &State, english: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let html = matches!(state.auto_escape(), AutoEscape::Html);
    let mut values = std::collections::HashMap::new();
    for name in placeholders::names(english) {
        let value: Value = kwargs.get(name).map_err(|_| {
            Error::new(
                ErrorKind::MissingArgument,
                format!("_({english:?}) needs the argument {name}=…"),
            )
        })?;
        if value.is_undefined() {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                format!("the argument {name} of _({english:?}) is undefined"),
            ));
        }
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        let shown = if html && !value.is_safe() {
            HtmlEscape(&text).to_string()
        } else {
            text
        };
        values.insert(name, shown);
    }
    kwargs.assert_all_used().map_err(|e| {
        Error::new(
            ErrorKind::TooManyArguments,
            format!(
                "_({english:?}) has no placeholder for {}",
                e.detail().unwrap_or("an argument")
            ),
        )
    })?;
    let text = super::with_current(|locale| {
        placeholders::fill(locale.text(english), |name| values.get(name).cloned())
    });
    Ok(if html {
        Value::from_safe_string(text)
    } else {
        Value::from(text)
    })
}

/// `lang()`: the current language's tag, for `<html lang="…">`.
fn lang() -> String {
    super::with_current(|locale| locale.tag().to_owned())
}
