//! An in-process homeserver for tests: remembers users and devices, and can
//! be switched off to test what happens when the homeserver is down.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
};

use super::{
    Availability, Homeserver, HomeserverError, HomeserverUser, HsFuture, ProvisionRequest,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeUser {
    pub display_name: Option<String>,
    pub emails: Vec<String>,
    pub locked: bool,
    pub deactivated: bool,
    pub devices: BTreeSet<String>,
}

#[derive(Debug, Default)]
pub struct FakeHomeserver {
    server_name: String,
    users: Mutex<BTreeMap<String, FakeUser>>,
    /// The localparts `allow_cross_signing_reset` was called for, in order.
    cross_signing_resets: Mutex<Vec<String>>,
    down: AtomicBool,
}

impl FakeHomeserver {
    pub fn new(server_name: &str) -> Self {
        Self {
            server_name: server_name.into(),
            ..Self::default()
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn user(&self, localpart: &str) -> Option<FakeUser> {
        self.users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(localpart)
            .cloned()
    }

    /// The localparts whose cross-signing reset was allowed, in order.
    pub fn cross_signing_resets(&self) -> Vec<String> {
        self.cross_signing_resets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn with_user<T>(
        &self,
        call: &'static str,
        localpart: &str,
        f: impl FnOnce(&mut FakeUser) -> T,
    ) -> Result<T, HomeserverError> {
        self.check_up(call)?;
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        match users.get_mut(localpart) {
            Some(user) => Ok(f(user)),
            // Synapse answers 404 M_NOT_FOUND for an unknown user.
            None => Err(HomeserverError::Refused {
                call,
                status: 404,
                errcode: Some("M_NOT_FOUND".into()),
                message: "User not found".into(),
            }),
        }
    }

    fn check_up(&self, call: &'static str) -> Result<(), HomeserverError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(HomeserverError::Unreachable {
                call,
                reason: "connection refused (fake homeserver is down)".into(),
            });
        }
        Ok(())
    }
}

/// Like Synapse, refuses to create users whose localpart starts with `_`
/// (it reserves those), answering 400 `M_INVALID_USERNAME`.
fn invalid_username(call: &'static str, localpart: &str) -> Option<HomeserverError> {
    localpart
        .starts_with('_')
        .then(|| HomeserverError::Refused {
            call,
            status: 400,
            errcode: Some("M_INVALID_USERNAME".into()),
            message: "User ID may not begin with _".into(),
        })
}

impl Homeserver for FakeHomeserver {
    fn server_name(&self) -> &str {
        &self.server_name
    }

    fn query_user<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, Option<HomeserverUser>> {
        Box::pin(async move {
            self.check_up("query_user")?;
            Ok(self.user(localpart).map(|u| HomeserverUser {
                user_id: format!("@{localpart}:{}", self.server_name),
                display_name: u.display_name,
                avatar_url: None,
                is_suspended: false,
                is_deactivated: u.deactivated,
            }))
        })
    }

    fn set_display_name<'a>(
        &'a self,
        localpart: &'a str,
        display_name: &'a str,
    ) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.with_user("set_displayname", localpart, |u| {
                u.display_name = Some(display_name.to_owned())
            })
        })
    }

    fn unset_display_name<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.with_user("unset_displayname", localpart, |u| u.display_name = None)
        })
    }

    fn update_device_display_name<'a>(
        &'a self,
        localpart: &'a str,
        device_id: &'a str,
        _name: &'a str,
    ) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.with_user("update_device_display_name", localpart, |u| {
                u.devices.contains(device_id)
            })
            .and_then(|known| {
                if known {
                    Ok(())
                } else {
                    Err(HomeserverError::Refused {
                        call: "update_device_display_name",
                        status: 404,
                        errcode: Some("M_NOT_FOUND".into()),
                        message: "Device not found".into(),
                    })
                }
            })
        })
    }

    fn provision_user<'a>(&'a self, request: &'a ProvisionRequest) -> HsFuture<'a, bool> {
        Box::pin(async move {
            self.check_up("provision_user")?;
            let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            let created = !users.contains_key(&request.localpart);
            if created {
                if let Some(refused) = invalid_username("provision_user", &request.localpart) {
                    return Err(refused);
                }
            }
            let user = users.entry(request.localpart.clone()).or_default();
            if let Some(name) = &request.display_name {
                user.display_name = name.clone();
            }
            if let Some(emails) = &request.emails {
                user.emails = emails.clone();
            }
            user.locked = request.locked;
            Ok(created)
        })
    }

    fn localpart_availability<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, Availability> {
        Box::pin(async move {
            self.check_up("is_localpart_available")?;
            if let Some(HomeserverError::Refused {
                errcode, message, ..
            }) = invalid_username("is_localpart_available", localpart)
            {
                return Ok(Availability::Unavailable {
                    errcode: errcode.unwrap_or_default(),
                    message,
                });
            }
            if self.user(localpart).is_some() {
                return Ok(Availability::Unavailable {
                    errcode: "M_USER_IN_USE".into(),
                    message: "User ID already taken.".into(),
                });
            }
            Ok(Availability::Available)
        })
    }

    fn upsert_device<'a>(
        &'a self,
        localpart: &'a str,
        device_id: &'a str,
        _: Option<&'a str>,
    ) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.with_user("upsert_device", localpart, |u| {
                u.devices.insert(device_id.to_owned());
            })
        })
    }

    fn delete_device<'a>(&'a self, localpart: &'a str, device_id: &'a str) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.with_user("delete_device", localpart, |u| {
                u.devices.remove(device_id);
            })
        })
    }

    fn sync_devices<'a>(&'a self, localpart: &'a str, devices: &'a [String]) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.with_user("sync_devices", localpart, |u| {
                u.devices = devices.iter().cloned().collect()
            })
        })
    }

    fn delete_user<'a>(&'a self, localpart: &'a str, _erase: bool) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.with_user("delete_user", localpart, |u| {
                u.deactivated = true;
                u.devices.clear();
            })
        })
    }

    fn reactivate_user<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, ()> {
        Box::pin(
            async move { self.with_user("reactivate_user", localpart, |u| u.deactivated = false) },
        )
    }

    fn allow_cross_signing_reset<'a>(&'a self, localpart: &'a str) -> HsFuture<'a, ()> {
        Box::pin(async move {
            self.with_user("allow_cross_signing_reset", localpart, |_| ())?;
            self.cross_signing_resets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(localpart.to_owned());
            Ok(())
        })
    }
}
