//! `Job`: every kind of job, with its queue name (MAS's) and its payload
//! (the JSON MAS stores), so jobs queued by an older mxauth or by
//! MAS-compatible tooling still run. Every job is idempotent: running it
//! twice has the effect of running it once, which at-least-once delivery
//! needs.

use mxauth_model::User;
use serde::de::DeserializeOwned;
use ulid::Ulid;

use super::{
    DeactivateUser, JobContext, JobError, ProvisionUser, ReactivateUser, SendAccountRecoveryEmails,
    SendEmailAuthenticationCode, SyncDevices,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    ProvisionUser(ProvisionUser),
    SyncDevices(SyncDevices),
    DeactivateUser(DeactivateUser),
    ReactivateUser(ReactivateUser),
    SendEmailAuthenticationCode(SendEmailAuthenticationCode),
    SendAccountRecoveryEmails(SendAccountRecoveryEmails),
}

impl Job {
    /// The queue the job is stored under.
    pub fn queue_name(&self) -> &'static str {
        match self {
            Self::ProvisionUser(_) => ProvisionUser::QUEUE,
            Self::SyncDevices(_) => SyncDevices::QUEUE,
            Self::DeactivateUser(_) => DeactivateUser::QUEUE,
            Self::ReactivateUser(_) => ReactivateUser::QUEUE,
            Self::SendEmailAuthenticationCode(_) => SendEmailAuthenticationCode::QUEUE,
            Self::SendAccountRecoveryEmails(_) => SendAccountRecoveryEmails::QUEUE,
        }
    }

    /// The user the job is about, for the jobs about one user on the
    /// homeserver; `None` for email codes (the person may have no account
    /// yet).
    pub fn user_id(&self) -> Option<Ulid> {
        match self {
            Self::ProvisionUser(job) => Some(job.user_id),
            Self::SyncDevices(job) => Some(job.user_id),
            Self::DeactivateUser(job) => Some(job.user_id),
            Self::ReactivateUser(job) => Some(job.user_id),
            Self::SendEmailAuthenticationCode(_) | Self::SendAccountRecoveryEmails(_) => None,
        }
    }

    /// The payload stored in `queue_jobs.payload`.
    pub fn payload(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::ProvisionUser(job) => serde_json::to_string(job),
            Self::SyncDevices(job) => serde_json::to_string(job),
            Self::DeactivateUser(job) => serde_json::to_string(job),
            Self::ReactivateUser(job) => serde_json::to_string(job),
            Self::SendEmailAuthenticationCode(job) => serde_json::to_string(job),
            Self::SendAccountRecoveryEmails(job) => serde_json::to_string(job),
        }
    }

    /// The job stored under `queue` with `payload`. An unknown queue or a
    /// payload that does not fit its queue is a permanent failure: no retry
    /// will make it run.
    pub fn decode(queue: &str, payload: &str) -> Result<Self, JobError> {
        match queue {
            ProvisionUser::QUEUE => parse(payload).map(Self::ProvisionUser),
            SyncDevices::QUEUE => parse(payload).map(Self::SyncDevices),
            DeactivateUser::QUEUE => parse(payload).map(Self::DeactivateUser),
            ReactivateUser::QUEUE => parse(payload).map(Self::ReactivateUser),
            SendEmailAuthenticationCode::QUEUE => {
                parse(payload).map(Self::SendEmailAuthenticationCode)
            }
            SendAccountRecoveryEmails::QUEUE => parse(payload).map(Self::SendAccountRecoveryEmails),
            other => Err(JobError::Permanent(format!("unknown queue {other:?}"))),
        }
    }

    /// Does what the job asks; errors of the homeserver jobs name the user.
    pub(super) async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let user_id = match self {
            Self::SendEmailAuthenticationCode(job) => return job.run(ctx).await,
            Self::SendAccountRecoveryEmails(job) => return job.run(ctx).await,
            Self::ProvisionUser(ProvisionUser { user_id, .. })
            | Self::SyncDevices(SyncDevices { user_id })
            | Self::DeactivateUser(DeactivateUser { user_id, .. })
            | Self::ReactivateUser(ReactivateUser { user_id }) => *user_id,
        };
        let user = load_user(ctx, user_id).await?;
        let outcome = match self {
            Self::ProvisionUser(job) => job.run(ctx, &user).await,
            Self::SyncDevices(job) => job.run(ctx, &user).await,
            Self::DeactivateUser(job) => job.run(ctx, &user).await,
            Self::ReactivateUser(job) => job.run(ctx, &user).await,
            Self::SendEmailAuthenticationCode(_) | Self::SendAccountRecoveryEmails(_) => Ok(()),
        };
        outcome.map_err(|e| e.about(&user.username))
    }
}

impl From<ProvisionUser> for Job {
    fn from(job: ProvisionUser) -> Self {
        Self::ProvisionUser(job)
    }
}

impl From<SyncDevices> for Job {
    fn from(job: SyncDevices) -> Self {
        Self::SyncDevices(job)
    }
}

impl From<DeactivateUser> for Job {
    fn from(job: DeactivateUser) -> Self {
        Self::DeactivateUser(job)
    }
}

impl From<ReactivateUser> for Job {
    fn from(job: ReactivateUser) -> Self {
        Self::ReactivateUser(job)
    }
}

impl From<SendAccountRecoveryEmails> for Job {
    fn from(job: SendAccountRecoveryEmails) -> Self {
        Self::SendAccountRecoveryEmails(job)
    }
}

impl From<SendEmailAuthenticationCode> for Job {
    fn from(job: SendEmailAuthenticationCode) -> Self {
        Self::SendEmailAuthenticationCode(job)
    }
}

/// Unknown fields are ignored, as MAS adds its own (tracing metadata).
fn parse<T: DeserializeOwned>(payload: &str) -> Result<T, JobError> {
    serde_json::from_str(payload)
        .map_err(|e| JobError::Permanent(format!("malformed payload: {e}")))
}

async fn load_user(ctx: &JobContext, id: Ulid) -> Result<User, JobError> {
    let mut repo = ctx.db.read().await?;
    let user = repo.users().find_by_id(id).await?;
    drop(repo);
    user.ok_or_else(|| JobError::Permanent(format!("user {id} does not exist")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    fn user_id() -> Ulid {
        Ulid::from_string(ID).unwrap()
    }

    /// The text earlier versions stored, built as they built it.
    fn old_payload(value: serde_json::Value) -> String {
        value.to_string()
    }

    #[test]
    fn payloads_are_stored_as_before() {
        let cases = [
            (
                Job::from(ProvisionUser::new(user_id())),
                old_payload(json!({ "user_id": user_id() })),
            ),
            (
                Job::from(ProvisionUser {
                    set_display_name: Some("Alice".into()),
                    user_id: user_id(),
                }),
                old_payload(json!({ "user_id": user_id(), "set_display_name": "Alice" })),
            ),
            (
                Job::from(SyncDevices { user_id: user_id() }),
                old_payload(json!({ "user_id": user_id() })),
            ),
            (
                Job::from(DeactivateUser {
                    hs_erase: false,
                    user_id: user_id(),
                }),
                old_payload(json!({ "user_id": user_id(), "hs_erase": false })),
            ),
            (
                Job::from(ReactivateUser { user_id: user_id() }),
                old_payload(json!({ "user_id": user_id() })),
            ),
            (
                Job::from(SendEmailAuthenticationCode::new(user_id(), "en")),
                old_payload(json!({ "language": "en", "user_email_authentication_id": user_id() })),
            ),
        ];
        for (job, stored) in cases {
            assert_eq!(job.payload().unwrap(), stored, "{job:?}");
            assert_eq!(Job::decode(job.queue_name(), &stored).unwrap(), job);
        }
    }

    #[test]
    fn old_and_mas_payloads_still_decode() {
        let with_name = format!(r#"{{"set_display_name":"Alice","user_id":"{ID}"}}"#);
        assert_eq!(
            Job::decode("provision-user", &with_name).unwrap(),
            Job::ProvisionUser(ProvisionUser {
                set_display_name: Some("Alice".into()),
                user_id: user_id(),
            })
        );
        // A field this version does not know (MAS adds tracing metadata) and
        // an absent `hs_erase` (no erasure).
        let mas = format!(r#"{{"user_id":"{ID}","_mas_job_metadata":{{"trace_id":"x"}}}}"#);
        assert_eq!(
            Job::decode("deactivate-user", &mas).unwrap(),
            Job::DeactivateUser(DeactivateUser {
                hs_erase: false,
                user_id: user_id(),
            })
        );
        assert_eq!(
            Job::decode("sync-devices", &mas).unwrap().user_id(),
            Some(user_id())
        );
        assert_eq!(
            Job::decode("reactivate-user", &mas).unwrap().queue_name(),
            "reactivate-user"
        );
        // MAS's email job, and one without a language.
        let email = format!(r#"{{"user_email_authentication_id":"{ID}","language":"fr"}}"#);
        let job = Job::decode("send-email-authentication-code", &email).unwrap();
        assert_eq!(
            job,
            SendEmailAuthenticationCode::new(user_id(), "fr").into()
        );
        assert_eq!(job.user_id(), None);
        let bare = format!(r#"{{"user_email_authentication_id":"{ID}"}}"#);
        assert_eq!(
            Job::decode("send-email-authentication-code", &bare).unwrap(),
            SendEmailAuthenticationCode::new(user_id(), "en").into()
        );
    }

    #[test]
    fn unknown_queues_and_bad_payloads_fail_for_good() {
        for (queue, payload) in [
            ("no-such-queue", format!(r#"{{"user_id":"{ID}"}}"#)),
            ("provision-user", r#"{"nope":1}"#.to_owned()),
            ("sync-devices", "not json".to_owned()),
            (
                "deactivate-user",
                format!(r#"{{"user_id":"{ID}","hs_erase":"yes"}}"#),
            ),
        ] {
            assert!(
                matches!(Job::decode(queue, &payload), Err(JobError::Permanent(_))),
                "{queue} {payload}"
            );
        }
    }
}
