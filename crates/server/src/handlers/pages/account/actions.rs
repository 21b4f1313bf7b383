//! The `action` a client puts on the account management URL (MSC4191,
//! Matrix 1.15 "Account management"): which page it opens. The spec's
//! names (`org.matrix.devices_list`, `org.matrix.device_view`,
//! `org.matrix.device_delete`), MSC4191's earlier ones
//! (`org.matrix.sessions_list`, `org.matrix.session_view`,
//! `org.matrix.session_end`) and the unprefixed spellings some clients
//! sent are all understood. An action we do not know opens the profile,
//! as the URL without one does.

/// Where an `action` leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Profile,
    SessionsList,
    /// Show the session of the request's `device_id`.
    SessionView,
    /// Show the session of `device_id` and ask to confirm ending it: a
    /// link must never end a session by itself (MSC4191, "Security
    /// considerations").
    SessionEnd,
    Deactivate,
    CrossSigningReset,
}

impl Action {
    pub fn parse(action: Option<&str>) -> Self {
        let Some(action) = action else {
            return Self::Profile;
        };
        match action.strip_prefix("org.matrix.").unwrap_or(action) {
            "sessions_list" | "devices_list" => Self::SessionsList,
            "session_view" | "device_view" => Self::SessionView,
            "session_end" | "device_delete" => Self::SessionEnd,
            "account_deactivate" => Self::Deactivate,
            "cross_signing_reset" => Self::CrossSigningReset,
            _ => Self::Profile,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn every_advertised_action_and_its_older_spellings_is_understood() {
        for name in crate::handlers::discovery::ACCOUNT_ACTIONS {
            let short = name.trim_start_matches("org.matrix.");
            assert_eq!(Action::parse(Some(name)), Action::parse(Some(short)));
            if name != "org.matrix.profile" {
                assert_ne!(Action::parse(Some(name)), Action::Profile, "{name}");
            }
        }
        let cases = [
            ("org.matrix.session_end", Action::SessionEnd),
            ("org.matrix.device_delete", Action::SessionEnd),
            ("org.matrix.device_view", Action::SessionView),
            ("sessions_list", Action::SessionsList),
            ("org.matrix.cross_signing_reset", Action::CrossSigningReset),
            ("org.matrix.account_deactivate", Action::Deactivate),
            ("org.example.unknown", Action::Profile),
        ];
        for (name, action) in cases {
            assert_eq!(Action::parse(Some(name)), action, "{name}");
        }
        assert_eq!(Action::parse(None), Action::Profile);
    }
}
