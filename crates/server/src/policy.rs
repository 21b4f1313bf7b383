//! The policy: what the configuration's `policy.data` and the data admins
//! set through the admin API (`/api/admin/v1/policy-data`) allow. mxauth
//! has no OPA engine; it acts on the keys of MAS's default policy itself
//! ([`rules`]), with MAS's string constraints ([`constraint`]).
//!
//! The data in force is the configuration's, with the newest admin-set
//! version deep-merged over it: objects merge key by key, anything else
//! (lists included) is replaced. Each server re-reads the newest version
//! once a minute ([`PolicyStore::refresh`], as MAS does), and at once on
//! the instance that stored it.

pub mod constraint;
pub mod rules;

use std::sync::{Arc, RwLock};

use serde_json::Value;
use ulid::Ulid;

pub use rules::{ClientRegistrationRules, Policy, Violation};

/// How often each server re-reads the newest admin-set data.
pub const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// How many versions of the admin-set data the hourly cleanup keeps.
pub const VERSIONS_KEPT: i64 = 10;

/// The configuration's data, the version of the admin-set data merged over
/// it, and the policy they make.
#[derive(Debug)]
pub struct PolicyStore {
    configured: Value,
    current: RwLock<(Option<Ulid>, Arc<Policy>)>,
}

impl PolicyStore {
    /// The store of the configuration's `policy.data` (absent: `{}`), or
    /// what is wrong with it.
    pub fn new(configured: Option<Value>) -> Result<Self, String> {
        let configured = configured.unwrap_or_else(|| Value::Object(Default::default()));
        let policy = Policy::from_data(&configured)?;
        Ok(Self {
            configured,
            current: RwLock::new((None, Arc::new(policy))),
        })
    }

    /// The policy in force.
    pub fn current(&self) -> Arc<Policy> {
        self.read().1.clone()
    }

    /// The policy `dynamic` would make, merged over the configuration's
    /// data, without putting it in force: the admin API's check before it
    /// stores a version.
    pub fn try_merge(&self, dynamic: &Value) -> Result<Policy, String> {
        if !dynamic.is_object() {
            return Err("the policy data must be a JSON object".to_owned());
        }
        let mut merged = self.configured.clone();
        merge(&mut merged, dynamic);
        Policy::from_data(&merged)
    }

    /// Puts version `id` in force, unless it already is. A version that no
    /// longer fits the configuration (the configuration changed since it
    /// was stored) is not applied: the error says why, and the previous
    /// policy stays.
    pub fn apply(&self, id: Ulid, dynamic: &Value) -> Result<(), String> {
        if self.read().0 == Some(id) {
            return Ok(());
        }
        let policy = self.try_merge(dynamic)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = (Some(id), Arc::new(policy));
        Ok(())
    }

    /// Re-reads the newest admin-set version and applies it.
    pub async fn refresh(&self, db: &mxauth_storage::Database) -> Result<(), String> {
        let latest = async {
            let mut read = db.read().await?;
            read.policy_data().latest().await
        }
        .await
        .map_err(|e| e.to_string())?;
        match latest {
            Some(version) => self
                .apply(version.id, &version.data)
                .map_err(|e| format!("policy data {} is not applied: {e}", version.id)),
            None => Ok(()),
        }
    }

    /// Re-reads the newest version every [`REFRESH_EVERY`] until `stopped`
    /// (the first read is the caller's, before serving).
    pub async fn refresh_continuously(
        self: Arc<Self>,
        db: mxauth_storage::Database,
        mut stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(REFRESH_EVERY) => {}
                _ = stopped.changed() => return,
            }
            if let Err(e) = self.refresh(&db).await {
                tracing::warn!("policy data: {e}");
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, (Option<Ulid>, Arc<Policy>)> {
        self.current.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// `overlay` merged into `base`: objects key by key, anything else replaced.
fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

#[cfg(test)]
mod tests;
