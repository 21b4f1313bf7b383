//! Column types that must read and write the same on both backends.
//!
//! Timestamps: PostgreSQL stores `TIMESTAMPTZ`; SQLite has no time type, so
//! [`Timestamp`] writes fixed-width RFC 3339 text with microseconds
//! (`2026-01-01T12:00:00.000000Z`). Fixed width matters: sqlx's own chrono
//! encoding varies the number of fraction digits, and then text comparison
//! (`expires_at > $1`) gives wrong answers.
//!
//! Ids: ULIDs, stored through `uuid::Uuid` (PostgreSQL `UUID`, SQLite 16-byte
//! `BLOB`); byte order is preserved, so ids sort by creation time on both.

use std::{fmt::Display, str::FromStr};

use chrono::{DateTime, SecondsFormat, Utc};
use mxauth_model::Scope;
use rand::RngCore;
use sqlx::{
    encode::IsNull, error::BoxDynError, postgres::PgValueRef, sqlite::SqliteValueRef, Decode,
    Encode, Postgres, Sqlite, Type,
};
use ulid::Ulid;
use uuid::Uuid;

use crate::StorageError;

/// A point in time as stored in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }
}

impl Type<Postgres> for Timestamp {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl<'q> Encode<'q, Postgres> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Timestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Timestamp(<DateTime<Utc> as Decode<Postgres>>::decode(
            value,
        )?))
    }
}

impl Type<Sqlite> for Timestamp {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<sqlx::sqlite::SqliteArgumentValue<'q>>,
    ) -> Result<IsNull, BoxDynError> {
        let text = self.0.to_rfc3339_opts(SecondsFormat::Micros, true);
        <String as Encode<Sqlite>>::encode(text, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Timestamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Timestamp(
            DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc),
        ))
    }
}

/// A value stored as text, parsed into its model type once, here. A value
/// that does not parse is [`StorageError::Malformed`] naming where it is
/// stored, never a silent default.
pub(crate) fn parse_stored<T>(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<T, StorageError>
where
    T: FromStr,
    T::Err: Display,
{
    text.parse().map_err(|e: T::Err| StorageError::Malformed {
        table,
        column,
        reason: e.to_string(),
    })
}

/// A stored scope. The empty string is the empty scope: a
/// `client_credentials` session that asked for none is stored so (it is
/// what [`Scope`]'s `Display` writes for it).
pub(crate) fn parse_scope(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<Scope, StorageError> {
    if text.is_empty() {
        return Ok(Scope::new());
    }
    parse_stored(table, column, text)
}

pub(crate) fn to_uuid(id: Ulid) -> Uuid {
    Uuid::from_bytes(id.to_bytes())
}

pub(crate) fn to_ulid(id: Uuid) -> Ulid {
    Ulid::from_bytes(id.into_bytes())
}

/// A new ULID for an instant, with randomness from `rng` (seeded in tests).
pub fn new_ulid(now: DateTime<Utc>, rng: &mut (impl RngCore + ?Sized)) -> Ulid {
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    let mut random = [0u8; 16];
    rng.fill_bytes(&mut random);
    Ulid::from_parts(millis, u128::from_be_bytes(random))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sqlite_text_has_fixed_width_so_it_sorts() {
        let whole = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap();
        let fraction = whole - chrono::Duration::milliseconds(500);
        let a = fraction.to_rfc3339_opts(SecondsFormat::Micros, true);
        let b = whole.to_rfc3339_opts(SecondsFormat::Micros, true);
        assert_eq!(a.len(), b.len());
        assert!(a < b, "{a} should sort before {b}");
    }

    #[test]
    fn ulid_uuid_round_trip_keeps_order() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut rng = rand::rngs::mock::StepRng::new(1, 1);
        let a = new_ulid(t, &mut rng);
        let b = new_ulid(t + chrono::Duration::seconds(1), &mut rng);
        assert!(a < b);
        assert!(to_uuid(a) < to_uuid(b));
        assert_eq!(to_ulid(to_uuid(a)), a);
    }
}
