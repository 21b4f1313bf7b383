//! Asking the person at the terminal for what a command is missing.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};

fn ensure_terminal(what: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("{what} is missing, and standard input is not a terminal to ask on; pass it as an argument");
    }
    Ok(())
}

/// Asks for a line of text.
pub fn ask(question: &str) -> Result<String> {
    ensure_terminal(question)?;
    eprint!("{question}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Asks for a password twice, without echo.
pub fn ask_password() -> Result<String> {
    ensure_terminal("the password")?;
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    let second = rpassword::prompt_password("Password again: ").context("reading the password")?;
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(first)
}

/// Asks a yes/no question; anything but y/yes is no.
pub fn confirm(question: &str) -> Result<bool> {
    let answer = ask(&format!("{question} [y/N]"))?;
    Ok(matches!(answer.to_lowercase().as_str(), "y" | "yes"))
}
