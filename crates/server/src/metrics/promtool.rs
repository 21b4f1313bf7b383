//! `promtool check metrics`: Prometheus' own parser and linter of the text
//! format, run on a scrape by the tests (the server's, and the CLI's end-to-end
//! test, which includes this file).

/// Runs `promtool check metrics` on the scrape: Prometheus' own parser and
/// linter. Without promtool the check is skipped with a notice, and fails
/// under `CI=true` (`.ci/run` installs it: tests/peers/setup_promtool.sh).
pub fn check(scrape: &str) {
    use std::io::Write;
    let promtool = std::env::var("MXAUTH_PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but promtool ({promtool}) cannot run: see tests/peers/setup_promtool.sh"
        );
        let _ = std::io::stderr().write_all(
            b"SKIPPED: promtool not found (set MXAUTH_PROMTOOL; tests/peers/setup_promtool.sh installs it): the scrape was checked by the test's own parser only\n",
        );
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool: {said}\n{scrape}");
    // The linter's advice (e.g. on names) comes out with a success status.
    assert!(said.trim().is_empty(), "promtool: {said}");
}
