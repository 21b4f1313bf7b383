//! Turning the configuration into working parts: reading every `*_file`,
//! parsing keys, building database settings and the password manager. What
//! fails here fails `config check` too, with the path of the key at fault.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use mxauth_config::{
    DatabaseConfig, HashAlgorithm, MatrixConfig, PasswordSchemeConfig, PasswordsConfig, PgSslMode,
    RootConfig, SecretsConfig,
};
use mxauth_crypto::keys::PrivateKey;
use mxauth_server::{
    email::MailerSettings,
    passwords::{self, Algorithm, PasswordManager, Scheme},
};
use mxauth_storage::{DatabaseSettings, SslMode};

/// Everything resolved from the configuration that the commands need.
pub struct Resolved {
    pub database: DatabaseSettings,
    pub passwords: Option<PasswordManager>,
    pub keys: Vec<(String, PrivateKey)>,
    pub encryption_key: [u8; 32],
    pub matrix_secret: String,
    pub client_secrets: Vec<Option<String>>,
    /// The secret of each upstream provider, in the file's order.
    pub provider_secrets: Vec<Option<String>>,
    /// `email`, with the SMTP password read from `password_file`.
    pub mailer: MailerSettings,
}

fn read_file(path: &str, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{what}: cannot read {path}"))
}

fn read_text(path: &str, what: &str) -> Result<String> {
    let bytes = read_file(path, what)?;
    String::from_utf8(bytes).with_context(|| format!("{what}: {path} is not UTF-8 text"))
}

/// The inline value, else the trimmed contents of the file (Synapse strips
/// its `secret_path` the same way, so both sides agree on the secret).
fn inline_or_file(
    inline: &Option<String>,
    file: &Option<String>,
    what: &str,
) -> Result<Option<String>> {
    match (inline, file) {
        (Some(value), _) => Ok(Some(value.clone())),
        (None, Some(path)) => Ok(Some(read_text(path, what)?.trim().to_owned())),
        (None, None) => Ok(None),
    }
}

pub fn database_settings(config: &DatabaseConfig) -> Result<DatabaseSettings> {
    let mut settings = DatabaseSettings::from_uri(String::new());
    settings.uri = config.effective_uri();
    settings.host = config.host.clone();
    settings.port = config.port;
    settings.socket = config.socket.as_ref().map(Into::into);
    settings.username = config.username.clone();
    settings.password = inline_or_file(
        &config.password,
        &config.password_file,
        "database.password_file",
    )?;
    settings.database = config.database.clone();
    settings.ssl_mode = config.ssl_mode.map(|mode| match mode {
        PgSslMode::Disable => SslMode::Disable,
        PgSslMode::Allow | PgSslMode::Prefer => SslMode::Prefer,
        PgSslMode::Require => SslMode::Require,
        PgSslMode::VerifyCa => SslMode::VerifyCa,
        PgSslMode::VerifyFull => SslMode::VerifyFull,
    });
    let pem =
        |inline: &Option<String>, file: &Option<String>, what: &str| -> Result<Option<Vec<u8>>> {
            match (inline, file) {
                (Some(value), _) => Ok(Some(value.clone().into_bytes())),
                (None, Some(path)) => Ok(Some(read_file(path, what)?)),
                (None, None) => Ok(None),
            }
        };
    settings.ssl_ca = pem(&config.ssl_ca, &config.ssl_ca_file, "database.ssl_ca_file")?;
    settings.ssl_certificate = pem(
        &config.ssl_certificate,
        &config.ssl_certificate_file,
        "database.ssl_certificate_file",
    )?;
    settings.ssl_key = pem(
        &config.ssl_key,
        &config.ssl_key_file,
        "database.ssl_key_file",
    )?;
    settings.max_connections = config.max_connections;
    settings.min_connections = config.min_connections;
    settings.connect_timeout = Duration::from_secs(config.connect_timeout);
    settings.idle_timeout = config.idle_timeout.map(Duration::from_secs);
    settings.max_lifetime = config.max_lifetime.map(Duration::from_secs);
    Ok(settings)
}

/// The pepper (`secret` or `secret_file`) of `passwords.schemes[i]`.
pub fn scheme_pepper(i: usize, scheme: &PasswordSchemeConfig) -> Result<Option<Vec<u8>>> {
    let what = format!("passwords.schemes[{i}].secret_file");
    Ok(match (&scheme.secret, &scheme.secret_file) {
        (Some(secret), _) => Some(secret.clone().into_bytes()),
        // The pepper is used byte for byte, as MAS does: no trimming.
        (None, Some(path)) => Some(read_file(path, &what)?),
        (None, None) => None,
    })
}

/// `None` when `passwords.enabled` is false.
pub fn password_manager(config: &PasswordsConfig) -> Result<Option<PasswordManager>> {
    if !config.enabled {
        return Ok(None);
    }
    let mut schemes = Vec::new();
    for (i, scheme) in config.schemes.iter().enumerate() {
        let pepper = scheme_pepper(i, scheme)?;
        schemes.push(Scheme {
            version: scheme.version,
            algorithm: match scheme.algorithm {
                HashAlgorithm::Argon2id => Algorithm::Argon2id,
                HashAlgorithm::Bcrypt => Algorithm::Bcrypt,
                HashAlgorithm::Pbkdf2 => Algorithm::Pbkdf2,
            },
            cost: scheme.cost,
            pepper,
            unicode_normalization: scheme.unicode_normalization,
        });
    }
    Ok(Some(PasswordManager::new(
        schemes,
        config.minimum_complexity,
        passwords::default_concurrency(),
    )))
}

fn load_key(bytes: &[u8], has_password: bool, path: &str) -> Result<PrivateKey> {
    if has_password {
        bail!("{path}: encrypted private keys (with a password) are not supported yet; decrypt the key with `openssl pkey` and drop the password");
    }
    PrivateKey::from_bytes(bytes).with_context(|| path.to_owned())
}

/// The signing keys with their `kid`s. At least one RSA key is required:
/// OpenID Connect makes RS256 mandatory for ID tokens.
pub fn signing_keys(config: &SecretsConfig) -> Result<Vec<(String, PrivateKey)>> {
    let mut keys = Vec::new();
    for (i, entry) in config.keys.iter().enumerate() {
        let path = format!("secrets.keys[{i}]");
        let has_password = entry.password.is_some() || entry.password_file.is_some();
        let key = match (&entry.key, &entry.key_file) {
            (Some(pem), _) => load_key(pem.as_bytes(), has_password, &format!("{path}.key"))?,
            (None, Some(file)) => load_key(
                &read_file(file, &format!("{path}.key_file"))?,
                has_password,
                &format!("{path}.key_file"),
            )?,
            (None, None) => bail!("{path}: give key or key_file"),
        };
        let kid = entry.kid.clone().unwrap_or_else(|| key.thumbprint());
        keys.push((kid, key));
    }
    if let Some(dir) = &config.keys_dir {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("secrets.keys_dir: cannot read {dir}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        for file in entries {
            let shown = file.display().to_string();
            let key = load_key(&read_file(&shown, "secrets.keys_dir")?, false, &shown)?;
            keys.push((key.thumbprint(), key));
        }
    }
    if !keys
        .iter()
        .any(|(_, key)| matches!(key, PrivateKey::Rsa(_)))
    {
        bail!("secrets.keys: at least one RSA key is needed (ID tokens are signed with RS256 by default); `mxauth config generate` makes one");
    }
    Ok(keys)
}

/// The 32-byte encryption key, from hex inline or a file holding either 64
/// hex digits or 32 raw bytes.
pub fn encryption_key(config: &SecretsConfig) -> Result<[u8; 32]> {
    let bytes = match (&config.encryption, &config.encryption_file) {
        (Some(hex_key), _) => hex_key.as_bytes().to_vec(),
        (None, Some(path)) => read_file(path, "secrets.encryption_file")?,
        (None, None) => bail!("secrets.encryption: missing: give encryption or encryption_file"),
    };
    if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
        if !raw.iter().all(u8::is_ascii_hexdigit) {
            return Ok(raw);
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key)
        .context("secrets.encryption: must be 64 hexadecimal digits (32 bytes)")?;
    Ok(key)
}

pub fn matrix_secret(config: &MatrixConfig) -> Result<String> {
    inline_or_file(&config.secret, &config.secret_file, "matrix.secret_file")?
        .filter(|s| !s.is_empty())
        .context("matrix.secret: missing: give secret or secret_file (the secret shared with the homeserver)")
}

/// The secret of each static client, read from `client_secret_file` when
/// given there.
pub fn client_secrets(config: &RootConfig) -> Result<Vec<Option<String>>> {
    config
        .clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            inline_or_file(
                &c.client_secret,
                &c.client_secret_file,
                &format!("clients[{i}].client_secret_file"),
            )
        })
        .collect()
}

/// The secret of each upstream provider, read from `client_secret_file`
/// when given there; for Sign in with Apple, the private key Apple issued
/// (`sign_in_with_apple.private_key` or `private_key_file`), which signs the
/// client secret at each code exchange.
pub fn provider_secrets(config: &RootConfig) -> Result<Vec<Option<String>>> {
    config
        .upstream_oauth2
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| match &p.sign_in_with_apple {
            Some(apple) if p.token_endpoint_auth_method == "sign_in_with_apple" => inline_or_file(
                &apple.private_key,
                &apple.private_key_file,
                &format!("upstream_oauth2.providers[{i}].sign_in_with_apple.private_key_file"),
            ),
            _ => inline_or_file(
                &p.client_secret,
                &p.client_secret_file,
                &format!("upstream_oauth2.providers[{i}].client_secret_file"),
            ),
        })
        .collect()
}

/// The mailer's settings: the addresses parsed, the SMTP password read
/// from `email.password_file` when given there, and the host of
/// `http.public_base` as the name we give in `EHLO`.
pub fn mailer_settings(config: &RootConfig) -> Result<MailerSettings> {
    let email = &config.email;
    let password = inline_or_file(&email.password, &email.password_file, "email.password_file")?;
    let hello_name = config.http.public_base.host_str().map(str::to_owned);
    MailerSettings::from_config(email, password, hello_name).map_err(anyhow::Error::msg)
}

/// Checks the schema-level rules, then resolves everything.
pub fn resolve(config: &RootConfig) -> Result<Resolved> {
    let issues = config.validate();
    if let Some(first) = issues.first() {
        let more = issues.len() - 1;
        if more > 0 {
            let rest: Vec<String> = issues[1..].iter().map(ToString::to_string).collect();
            bail!(
                "invalid configuration: {first} (and {more} more: {})",
                rest.join("; ")
            );
        }
        bail!("invalid configuration: {first}");
    }
    Ok(Resolved {
        database: database_settings(&config.database)?,
        passwords: password_manager(&config.passwords)?,
        keys: signing_keys(&config.secrets)?,
        encryption_key: encryption_key(&config.secrets)?,
        matrix_secret: matrix_secret(&config.matrix)?,
        client_secrets: client_secrets(config)?,
        provider_secrets: provider_secrets(config)?,
        mailer: mailer_settings(config)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> RootConfig {
        let text = format!(
            "secrets: {{encryption: \"{}\"}}\nmatrix: {{homeserver: example.com, secret: x}}\n{extra}",
            "0".repeat(64)
        );
        serde_norway::from_str(&text).unwrap()
    }

    #[test]
    fn apple_providers_resolve_their_private_key_as_the_secret() {
        let dir = std::env::temp_dir().join(format!("mxauth-resolve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("AuthKey.p8");
        std::fs::write(
            &key,
            "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let config = config(&format!(
            "upstream_oauth2:\n  providers:\n    - {{id: 01HFVBY12TMNTYTBV8W921M5FA, client_id: a, token_endpoint_auth_method: sign_in_with_apple, sign_in_with_apple: {{private_key_file: {}, team_id: T, key_id: K}}}}\n    - {{id: 01HFVBY12TMNTYTBV8W921M5FB, client_id: b, client_secret: s, token_endpoint_auth_method: client_secret_basic}}\n",
            key.display()
        ));
        let secrets = provider_secrets(&config).unwrap();
        assert_eq!(
            secrets[0].as_deref(),
            Some("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----")
        );
        assert_eq!(secrets[1].as_deref(), Some("s"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
