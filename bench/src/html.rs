//! Just enough HTML to fill in a login or consent page without assuming
//! its markup: the `<form>`s of a page, each with its `action` and its
//! `<input>`s and named `<button>`s (attributes in any order, either quote,
//! entities decoded). mxauth's pages use MAS's paths and field names; this
//! reads MAS's pages as well.

/// A control of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
    /// `hidden`, `text`, `password`, …; `button` for a `<button>`.
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Form {
    /// `None` when the form posts back to the page's own URL.
    pub action: Option<String>,
    pub fields: Vec<Field>,
}

impl Form {
    pub fn has_password(&self) -> bool {
        self.fields.iter().any(|f| f.kind == "password")
    }

    pub fn hidden(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.kind == "hidden")
    }

    /// The submit button whose name or value says yes (`allow`, `accept`,
    /// `consent`, `continue`, `confirm`), if the form has one.
    pub fn yes_button(&self) -> Option<&Field> {
        const YES: [&str; 5] = ["allow", "accept", "consent", "continue", "confirm"];
        self.fields.iter().find(|f| {
            f.kind == "button" && {
                let both = format!("{} {}", f.name, f.value).to_ascii_lowercase();
                YES.iter().any(|yes| both.contains(yes))
            }
        })
    }
}

/// The forms of a page, in order.
pub fn forms(html: &str) -> Vec<Form> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<form").map(|i| at + i) {
        let end = lower[start..]
            .find("</form")
            .map_or(html.len(), |i| start + i);
        let body = &html[start..end];
        let mut form = Form {
            action: tag_end(body)
                .and_then(|open| attribute(&body[..open], "action"))
                .filter(|a| !a.is_empty()),
            fields: Vec::new(),
        };
        for (tag, kind_default) in [("<input", "text"), ("<button", "submit")] {
            let body_lower = &lower[start..end];
            let mut from = 0;
            while let Some(i) = body_lower[from..].find(tag).map(|i| from + i) {
                let open = tag_end(&body[i..]).map_or(body.len(), |e| i + e);
                let attrs = &body[i..open];
                if let Some(name) = attribute(attrs, "name") {
                    let mut kind = attribute(attrs, "type")
                        .unwrap_or_else(|| kind_default.to_owned())
                        .to_ascii_lowercase();
                    if tag == "<button" && kind == "submit" {
                        kind = "button".to_owned();
                    }
                    form.fields.push(Field {
                        name,
                        value: attribute(attrs, "value").unwrap_or_default(),
                        kind,
                    });
                }
                from = open.max(i + 1);
            }
        }
        out.push(form);
        at = end.max(start + 1);
    }
    // Buttons are listed after inputs; their order among themselves stays.
    out
}

/// Where the opening tag at the start of `s` ends (its `>`, outside quotes).
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` in the text of an opening tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| from + i) {
        from = i + name.len();
        let before_ok = lower[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_at = tag.len() - rest.len() + 1;
        let value = tag[value_at..].trim_start();
        let raw = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or_default(),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or_default(),
        };
        return Some(unescape(raw));
    }
    None
}

/// Decodes the character references templates produce.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity.strip_prefix('#').and_then(|n| {
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => n.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mxauths_consent_page() {
        let html = r#"<main><form method="post" action="/consent/01J?x=1&amp;y=2">
  <input type="hidden" name="csrf" value="tok&#x2F;1">
  <button type="submit" name="decision" value="allow">Allow</button>
  <button type="submit" name="decision" value="deny" class="secondary">Cancel</button>
</form>
<form method="post" action="/logout"><input type="hidden" name="csrf" value="tok"><button type="submit">Not alice?</button></form></main>"#;
        let forms = forms(html);
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].action.as_deref(), Some("/consent/01J?x=1&y=2"));
        let csrf: Vec<_> = forms[0].hidden().collect();
        assert_eq!(
            (csrf[0].name.as_str(), csrf[0].value.as_str()),
            ("csrf", "tok/1")
        );
        let yes = forms[0].yes_button().unwrap();
        assert_eq!(
            (yes.name.as_str(), yes.value.as_str()),
            ("decision", "allow")
        );
        assert!(forms[1].yes_button().is_none());
        assert!(!forms[0].has_password());
    }

    #[test]
    fn reads_other_markup_too() {
        // Single quotes, unquoted and reordered attributes, no action, a
        // `>` inside a value, upper case tags.
        let html = "<FORM method=POST><INPUT value='a>b' name='csrf' type=hidden>\
            <input name=username autocomplete=username><input type=\"password\" name=\"password\">\
            <button name=\"action\" value=\"consent\" type=\"submit\">Go</button></FORM>";
        let forms = forms(html);
        assert_eq!(forms.len(), 1);
        let form = &forms[0];
        assert_eq!(form.action, None);
        assert!(form.has_password());
        assert_eq!(form.hidden().next().map(|f| f.value.as_str()), Some("a>b"));
        let names: Vec<_> = form.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["csrf", "username", "password", "action"]);
        assert_eq!(form.yes_button().map(|f| f.value.as_str()), Some("consent"));
    }
}
